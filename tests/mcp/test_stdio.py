"""`free-generation-image serve` as a host launches it: a subprocess speaking MCP over stdio."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from free_generation_image.sandbox import Sandbox

pytestmark = pytest.mark.anyio


async def test_serve_over_stdio_lists_tools_and_answers(sandbox: Sandbox, tmp_path: Path) -> None:
    env = {
        "NEMO_API_URL": sandbox.url,
        "NEMO_CONFIG_DIR": str(tmp_path / "cfg"),
        "NEMO_OUTPUT_DIR": str(tmp_path / "out"),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "free_generation_image", "serve"], env=env, cwd=str(tmp_path)
    )
    async with Client(params, mode="legacy") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == {"generate", "upload", "credits", "status", "export", "cancel", "chat"}
        result = await client.call_tool("credits", {})
        assert not result.is_error and (result.structured_content or {})["available"] == 100
    headers = [e.headers for e in sandbox.journal("/api/credits") if e.kind == "request"]
    assert headers and headers[0].get("x-skill-source") == "free-generation-image"
    assert headers[0].get("x-skill-platform") == "mcp"
