"""`free-generation-image serve` as a host launches it: a subprocess speaking MCP over stdio."""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.types import BlobResourceContents, TextContent

from free_generation_image.sandbox import Sandbox

pytestmark = pytest.mark.anyio


def serve_params(sandbox: Sandbox, tmp_path: Path) -> StdioServerParameters:
    """`free-generation-image serve` against the sandbox, with private config and output dirs."""
    env = {
        "NEMO_API_URL": sandbox.url,
        "NEMO_CONFIG_DIR": str(tmp_path / "cfg"),
        "NEMO_OUTPUT_DIR": str(tmp_path / "out"),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    return StdioServerParameters(
        command=sys.executable, args=["-m", "free_generation_image", "serve"], env=env, cwd=str(tmp_path)
    )


async def test_serve_over_stdio_lists_tools_and_answers(sandbox: Sandbox, tmp_path: Path) -> None:
    params = serve_params(sandbox, tmp_path)
    async with Client(params, mode="legacy") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == {"generate", "upload", "credits", "status", "export", "cancel", "chat"}
        result = await client.call_tool("credits", {})
        assert not result.is_error and (result.structured_content or {})["available"] == 100
    headers = [e.headers for e in sandbox.journal("/api/credits") if e.kind == "request"]
    assert headers and headers[0].get("x-skill-source") == "free-generation-image"
    assert headers[0].get("x-skill-platform") == "mcp"


async def test_a_host_over_stdio_gets_plain_errors_a_small_listing_and_saved_files(
    sandbox: Sandbox, tmp_path: Path, mode: str
) -> None:
    saved = tmp_path / "out" / "a lighthouse.mkv"
    saved.parent.mkdir()
    saved.write_bytes(b"\x1a\x45\xdf\xa3 matroska")
    async with Client(serve_params(sandbox, tmp_path), mode=mode) as client:
        listed = await client.list_tools()
        assert len(listed.model_dump_json(by_alias=True, exclude_none=True).encode()) <= 15_000

        refused = await client.call_tool("generate", {"prompt": "a lighthouse", "duration_s": "NaN"})
        message = "".join(b.text for b in refused.content if isinstance(b, TextContent))
        assert refused.is_error and message.startswith("generate was not run: duration_s must be a number")
        assert "pydantic" not in message and "validation error" not in message

        resources = [r for r in (await client.list_resources()).resources if r.name == saved.name]
        assert len(resources) == 1 and resources[0].mime_type == "video/x-matroska"
        read = await client.read_resource(str(resources[0].uri))
    blob = read.contents[0]
    assert isinstance(blob, BlobResourceContents) and base64.b64decode(blob.blob) == saved.read_bytes()
    assert not [e for e in sandbox.journal("/run_sse") if e.kind == "request"]


async def test_what_a_host_reads_over_stdio_is_plain_and_true(
    sandbox: Sandbox, tmp_path: Path, mode: str
) -> None:
    # Internal tool names, terminal escapes in echoed text, labels and job messages, as a host gets them.
    sandbox.configure(tool_prefix="zq_internal_")
    prompt = "an image of a kite \x1b]0;pwned\x07over the \x1b[2Jsea\u202e"
    async with Client(serve_params(sandbox, tmp_path), mode=mode) as client:
        made = await client.call_tool("generate", {"prompt": prompt})
        listing = await client.call_tool("status", {})
    everything = made.model_dump_json() + listing.model_dump_json()
    for internal in ("zq_internal_", "generate_image", "edit_multitrack"):
        assert internal not in everything
    for char in ("\x1b", "\x07", "\u202e"):
        assert char not in everything and char.encode("unicode_escape").decode() not in everything
    data = listing.structured_content or {}
    assert (
        "Image: an image of a kite over the sea" in data["timeline"]
        and "Title: 'An image" in data["timeline"]
    )
    assert [job["message"] for job in data["jobs"]] == ["done"]
