"""Previews in tool results: a poster frame for a clip, and a note saying why when there can be none."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import ImageContent, TextContent
from PIL import Image

from tests.pyav_faults import without_pyav

pytestmark = pytest.mark.anyio


def _texts(result: Any) -> list[str]:
    return [block.text for block in result.content if isinstance(block, TextContent)]


async def test_an_exported_clip_has_a_poster_frame_or_a_note_saying_why_not(
    server: MCPServer, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Client(server, mode=mode) as client:
        generated = await client.call_tool("generate", {"prompt": "a lighthouse at dusk", "kind": "image"})
        assert not generated.is_error, _texts(generated)
        exported = await client.call_tool("export", {"format": "mp4"})
        assert not exported.is_error, _texts(exported)
        job_id = exported.structured_content["job_id"] if exported.structured_content else ""
        (poster,) = [b for b in exported.content if isinstance(b, ImageContent)]
        assert Image.open(io.BytesIO(base64.b64decode(poster.data))).size[0] <= 512
        assert not any(text.startswith("No preview") for text in _texts(exported))

        without_pyav(monkeypatch)  # the same file, collected again where PyAV cannot be loaded
        collected = await client.call_tool("status", {"job_id": job_id})
        assert not collected.is_error, _texts(collected)
        assert not [b for b in collected.content if isinstance(b, ImageContent)]
        (note,) = [text for text in _texts(collected) if text.startswith("No preview")]
        assert "PyAV (the `av` package" in note and "is not installed" in note
        assert "pip install av" in note
        assert any(block.type == "resource_link" for block in collected.content)  # the file is still there
