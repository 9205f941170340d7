"""The seven tools through a real MCP client session, in both protocol eras."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import ImageContent, ResourceLink, TextContent

from free_generation_image.sandbox import Sandbox

pytestmark = pytest.mark.anyio

TOOLS = {"generate", "upload", "credits", "status", "export", "cancel", "chat"}


def text_of(result: Any) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def test_tools_are_listed_with_schemas_and_annotations(server: MCPServer, mode: str) -> None:
    async with Client(server, mode=mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    generate = tools["generate"]
    props = generate.input_schema["properties"]
    assert {"prompt", "kind", "aspect_ratio", "duration_s", "new_project", "wait_seconds"} <= set(props)
    assert "confirmation" not in props and "ctx" not in props
    assert generate.output_schema is not None and "job_id" in generate.output_schema["properties"]
    assert "CREDITS" in (generate.description or "")
    assert generate.annotations and generate.annotations.idempotent_hint is False
    assert tools["credits"].annotations and tools["credits"].annotations.read_only_hint is True
    for name in ("status", "export"):
        annotations = tools[name].annotations
        assert annotations and annotations.idempotent_hint is True
    assert "FREE" in (tools["export"].description or "")
    assert set(tools["upload"].input_schema["properties"]) == {"source", "wait_seconds"}
    assert set(tools["cancel"].input_schema["required"]) == {"job_id"}


async def test_instructions_come_from_skill_md(server: MCPServer, mode: str) -> None:
    async with Client(server, mode=mode) as client:
        announced = client.instructions
    assert server.instructions and "job_id" in server.instructions
    assert announced == server.instructions  # what the client got at initialize is the server's text
    assert "export" in announced


async def test_generate_then_export_with_previews_links_and_progress(server: MCPServer, mode: str) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with Client(server, mode=mode) as client:
        result = await client.call_tool(
            "generate",
            {"prompt": "an image of a lighthouse at dusk", "kind": "image"},
            progress_callback=on_progress,
        )
        assert not result.is_error, text_of(result)
        data = result.structured_content
        assert data and data["status"] == "completed" and data["credits_before"] == 100
        kinds = [block.type for block in result.content]
        assert kinds[0] == "text" and "image" in kinds and "resource_link" in kinds
        preview = next(b for b in result.content if isinstance(b, ImageContent))
        assert len(base64.b64decode(preview.data)) <= 150_000
        assert "Saved PNG:" in text_of(result) and "Credits: 100 → 70" in text_of(result)
        link = next(b for b in result.content if isinstance(b, ResourceLink))
        read = await client.read_resource(str(link.uri))
        blob = read.contents[0]
        assert base64.b64decode(getattr(blob, "blob", "")).startswith(b"\x89PNG")

        assert seen, "no progress notifications"
        values = [p for p, _, _ in seen]
        assert values == sorted(values)  # monotonic within one call, as the spec requires

        exported = await client.call_tool("export", {"format": "mp4"})
        assert not exported.is_error, text_of(exported)
        assert exported.structured_content and exported.structured_content["status"] == "completed"
        assert "Exported MP4:" in text_of(exported)


async def test_job_id_is_returned_then_collected_with_status(
    server: MCPServer, sandbox: Sandbox, mode: str
) -> None:
    sandbox.configure(generation_seconds=1.0)
    async with Client(server, mode=mode) as client:
        started = await client.call_tool(
            "generate", {"prompt": "a video of a waterfall", "kind": "video", "wait_seconds": 0.1}
        )
        data = started.structured_content or {}
        assert data.get("status") == "running" and str(data.get("job_id", "")).startswith("job_")
        assert "status" in text_of(started)
        done = await client.call_tool("status", {"job_id": data["job_id"], "wait_seconds": 20})
        assert not done.is_error
        assert (done.structured_content or {})["generate"]["status"] == "completed"


async def test_cancel_a_running_export(server: MCPServer, sandbox: Sandbox, mode: str) -> None:
    async with Client(server, mode=mode) as client:
        await client.call_tool("generate", {"prompt": "an image of a robot", "kind": "image"})
        sandbox.configure(render_seconds=20)
        started = await client.call_tool("export", {"wait_seconds": 0.2})
        job_id = (started.structured_content or {})["job_id"]
        cancelled = await client.call_tool("cancel", {"job_id": job_id})
        assert not cancelled.is_error and (cancelled.structured_content or {})["status"] == "cancelled"


@pytest.mark.parametrize(
    ("tool", "args", "expected"),
    [
        ("generate", {"prompt": ""}, "prompt"),
        ("generate", {"prompt": "x", "duration_s": 999}, "duration_s"),
        ("generate", {"prompt": "x", "kind": "sculpture"}, "kind"),
        ("export", {"format": "gif"}, "format"),
        ("export", {}, "Nothing to export"),
        ("cancel", {"job_id": "job_doesnotexist"}, "No job"),
        ("upload", {"source": "/definitely/not/here.png"}, "not"),
        ("upload", {"source": "ftp://example.com/a.png"}, "http"),
        ("status", {"job_id": "../../etc/passwd"}, "No job"),
    ],
)
async def test_bad_input_is_a_tool_error_and_the_server_keeps_serving(
    server: MCPServer, mode: str, tool: str, args: dict[str, Any], expected: str
) -> None:
    async with Client(server, mode=mode) as client:
        result = await client.call_tool(tool, args)
        assert result.is_error
        assert expected.lower() in text_of(result).lower()
        assert "Traceback" not in text_of(result)
        ok = await client.call_tool("credits", {})
        assert not ok.is_error and (ok.structured_content or {})["available"] == 100


async def test_unsupported_upload_lists_the_accepted_formats(server: MCPServer, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    async with Client(server, mode="auto") as client:
        result = await client.call_tool("upload", {"source": [str(notes)]})
    assert result.is_error and "Accepted formats" in text_of(result) and "mp4" in text_of(result)


async def test_huge_prompt_is_refused_cleanly(server: MCPServer) -> None:
    async with Client(server, mode="auto") as client:
        result = await client.call_tool("generate", {"prompt": "a" * 1_000_000})
        assert result.is_error


async def test_chat_routes_chinese_export_and_credits(server: MCPServer, mode: str) -> None:
    async with Client(server, mode=mode) as client:
        credits = await client.call_tool("chat", {"message": "我还有多少积分？"})
        assert (credits.structured_content or {})["operation"] == "credits"
        made = await client.call_tool("chat", {"message": "画一张猫的图片"})
        assert (made.structured_content or {})["operation"] == "generate", text_of(made)
        exported = await client.call_tool("chat", {"message": "导出"})
        data = exported.structured_content or {}
        assert data["operation"] == "export" and data["export"]["status"] == "completed", text_of(exported)


async def test_structured_content_never_contains_the_token(server: MCPServer, sandbox: Sandbox) -> None:
    async with Client(server, mode="auto") as client:
        result = await client.call_tool("generate", {"prompt": "an image of a key", "kind": "image"})
        status = await client.call_tool("status", {})
    dumped = json.dumps(result.structured_content) + text_of(result) + json.dumps(status.structured_content)
    assert "nmv_usr_" not in dumped
