"""What a host gets from the tools: plain argument errors, a small listing, saved files as resources."""

from __future__ import annotations

import base64
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, MCPError
from mcp.server.mcpserver import MCPServer
from mcp.types import BlobResourceContents, TextContent

from free_generation_image import mcp_resources
from free_generation_image.config import Settings
from free_generation_image.sandbox import Sandbox

pytestmark = pytest.mark.anyio

MAX_LISTING_BYTES = 15_000
LEAKS = ("pydantic", "validation error", "Input should", "type=", "Error executing tool", "Traceback")


def text_of(result: Any) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


# -------------------------------------------------------------------------------- argument errors


@pytest.mark.parametrize(
    ("tool", "args", "names"),
    [
        ("generate", {"prompt": ""}, ["prompt", "non-empty text", "8000"]),
        ("generate", {}, ["prompt is missing"]),
        ("generate", {"prompt": "x", "wait_seconds": 100}, ["wait_seconds", "from 0 to 55", "got 100"]),
        ("generate", {"prompt": "x", "duration_s": 100}, ["duration_s", "from 1 to 60"]),
        ("generate", {"prompt": "x", "duration_s": "NaN"}, ["duration_s", "from 1 to 60", '"NaN"']),
        ("generate", {"prompt": "x", "aspect_ratio": "21:9"}, ["aspect_ratio", '"16:9"', '"3:4"', '"21:9"']),
        ("generate", {"prompt": "x", "kind": "gif"}, ["kind", '"auto"', '"image"', '"video"']),
        ("generate", {"prompt": "x", "new_project": "maybe"}, ["new_project", "true or false"]),
        ("export", {"format": "avi"}, ["format", '"mp4"', '"png"']),
        ("export", {"wait_seconds": -1}, ["wait_seconds", "from 0 to 55"]),
        ("cancel", {}, ["job_id is missing"]),
        ("cancel", {"job_id": ""}, ["job_id", "non-empty text"]),
        ("status", {"job_id": 5}, ["job_id", "text or null"]),
        ("status", {"wait_seconds": "soon"}, ["wait_seconds", "a number"]),
        ("upload", {"source": 5}, ["source", "text or a list of text"]),
        ("upload", {}, ["source is missing"]),
        ("chat", {"message": ""}, ["message", "non-empty text"]),
        ("chat", {"message": "hi", "wait_seconds": 56}, ["wait_seconds", "from 0 to 55"]),
    ],
)
async def test_argument_errors_are_one_plain_sentence(
    server: MCPServer, sandbox: Sandbox, mode: str, tool: str, args: dict[str, Any], names: list[str]
) -> None:
    async with Client(server, mode=mode) as client:
        result = await client.call_tool(tool, args)
        assert result.is_error
        message = text_of(result)
        assert message.startswith(f"{tool} was not run: ") and message.endswith(".")
        assert "\n" not in message and ". " not in message.rstrip(".")  # one sentence
        for name in names:
            assert name in message, message
        assert not any(leak in message for leak in LEAKS), message
        assert "errors.pydantic.dev" not in message
        ok = await client.call_tool("credits", {})  # the server keeps serving
        assert not ok.is_error
    assert not [e for e in sandbox.journal("/run_sse") if e.kind == "request"]  # nothing was sent, nor paid


async def test_a_tool_error_from_the_body_keeps_its_own_words(server: MCPServer, mode: str) -> None:
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("cancel", {"job_id": "job_doesnotexist"})
    assert result.is_error and "was not run" not in text_of(result)


# ---------------------------------------------------------------------------------------- listing


async def test_tools_list_is_small_dedented_and_still_validates_results(server: MCPServer, mode: str) -> None:
    async with Client(server, mode=mode) as client:
        listed = await client.list_tools()
        wire = listed.model_dump_json(by_alias=True, exclude_none=True).encode()
        assert len(wire) <= MAX_LISTING_BYTES, len(wire)
        for tool in listed.tools:
            description = tool.description or ""
            assert description and "\n " not in description and "  " not in description, tool.name
            assert "title" not in tool.input_schema  # pydantic's "generateArguments"
        # The client checks structured content against the listed (compact) output schemas.
        credits = await client.call_tool("credits", {})
        status = await client.call_tool("status", {})
    assert not credits.is_error and not status.is_error, text_of(status)


# -------------------------------------------------------------------------------------- resources


def _make_files(output_dir: Path, count: int) -> list[Path]:
    """``count`` media files of several types, oldest first (distinct mtimes)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    suffixes = ["png", "jpg", "mp4", "mkv", "avi", "mp3", "wav", "m4a", "aac", "webm", "mov", "gif", "webp"]
    made: list[Path] = []
    for index in range(count):
        path = output_dir / f"file {index:03d} 猫.{suffixes[index % len(suffixes)]}"
        path.write_bytes(f"bytes of {index}".encode())
        os.utime(path, (1_700_000_000 + index, 1_700_000_000 + index))
        made.append(path)
    return made


async def test_resources_list_shows_the_newest_saved_files_each_readable(
    server: MCPServer, settings: Settings, mode: str, tmp_path: Path
) -> None:
    out = settings.output_dir
    made = _make_files(out, 60)
    (out / f"{made[-1].name}.json").write_text("{}")  # sidecar: readable, not listed
    (out / ".fgi-abc.part").write_bytes(b"partial")
    (out / "notes.txt").write_text("not media")
    (out / "sub").mkdir()
    (tmp_path / "secret.png").write_bytes(b"secret")
    (out / "link.png").symlink_to(tmp_path / "secret.png")

    async with Client(server, mode=mode) as client:
        resources = [
            r for r in (await client.list_resources()).resources if str(r.uri).startswith("fgi://output/")
        ]
        assert [r.name for r in resources] == [p.name for p in reversed(made[-mcp_resources.RECENT_FILES :])]
        types = {r.name.rpartition(".")[2]: r.mime_type for r in resources}
        assert types["mkv"] == "video/x-matroska" and types["avi"] == "video/x-msvideo"
        assert types["mp3"] == "audio/mpeg" and types["jpg"] == "image/jpeg" and types["m4a"] == "audio/mp4"
        for resource in resources:
            assert resource.size == len(f"bytes of {int(resource.name[5:8])}")
            read = await client.read_resource(str(resource.uri))
            blob = read.contents[0]
            assert isinstance(blob, BlobResourceContents) and blob.mime_type == resource.mime_type
            assert base64.b64decode(blob.blob) == (out / resource.name).read_bytes()
        sidecar = await client.read_resource(str(resources[0].uri) + ".json")
        assert sidecar.contents[0].mime_type == "application/json"


async def test_resources_list_is_empty_before_anything_is_saved(server: MCPServer, mode: str) -> None:
    async with Client(server, mode=mode) as client:
        listed = (await client.list_resources()).resources
    assert not [r for r in listed if str(r.uri).startswith("fgi://output/")]


@pytest.mark.parametrize(
    "uri",
    [
        "fgi://output/..%2F..%2Fsecret.png",
        "fgi://output/%2Fetc%2Fpasswd.json",
        "fgi://output/link.png",  # a symlink pointing outside the output dir
        "fgi://output/.fgi-abc.png",  # a download still in progress
        "fgi://output/missing.png",
        "fgi://output/sub.png",  # a directory
    ],
)
async def test_reads_outside_the_output_dir_are_refused(
    server: MCPServer, settings: Settings, tmp_path: Path, uri: str
) -> None:
    out = settings.output_dir
    out.mkdir(parents=True)
    (tmp_path / "secret.png").write_bytes(b"secret")
    (out / "link.png").symlink_to(tmp_path / "secret.png")
    (out / ".fgi-abc.png").write_bytes(b"partial")
    (out / "sub.png").mkdir()
    async with Client(server, mode="auto") as client:
        with pytest.raises(MCPError) as refused:
            await client.read_resource(uri)
    assert str(tmp_path) not in refused.value.error.message


async def test_a_file_too_large_for_one_message_is_named_not_sent(
    server: MCPServer, settings: Settings, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mcp_resources, "MAX_RESOURCE_BYTES", 2**20)
    big = settings.output_dir / "export.mp4"
    big.parent.mkdir(parents=True)
    big.write_bytes(b"\0" * (2**20 + 1))
    async with Client(server, mode=mode) as client:
        with pytest.raises(MCPError) as refused:
            await client.read_resource("fgi://output/export.mp4")
    message = refused.value.error.message
    assert "too large" in message and str(big) in message and "1 MB" in message


async def test_resource_reads_run_off_the_event_loop(
    server: MCPServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []
    read = mcp_resources._read_output

    def spy(output_dir: Path, name: str) -> bytes:
        seen.append(threading.get_ident())
        return read(output_dir, name)

    monkeypatch.setattr(mcp_resources, "_read_output", spy)
    _make_files(settings.output_dir, 1)
    async with Client(server, mode="auto") as client:
        listed = [
            r for r in (await client.list_resources()).resources if str(r.uri).startswith("fgi://output/")
        ]
        await client.read_resource(str(listed[0].uri))
    assert seen and loop_thread not in seen
