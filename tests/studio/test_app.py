"""The studio through the official client: the tools point at the ui:// page, the page reads as an MCP App,
app-only tools stay out of what the model sees, and a client without Apps gets exactly what it got before."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.server.mcpserver import MCPServer
from mcp.types import Tool

from free_generation_image.config import Settings
from free_generation_image.mcp_server import build_server
from free_generation_image.studio import STUDIO_URI, Studio, is_app_only, studio_html
from free_generation_image.studio.media import MAX_CHUNK
from tests.helpers import make_service
from tests.studio.relay import apps_extension

pytestmark = pytest.mark.anyio

MODEL_TOOLS = ["cancel", "chat", "credits", "export", "generate", "status", "upload"]
APP_TOOLS = ["studio_estimate", "studio_media", "studio_progress", "studio_project"]
UI_TOOLS = {"generate", "export", "status"}


def _apps(server: MCPServer, mode: str) -> Client:
    return Client(server, mode=mode, extensions=[apps_extension()])


def _dump(result: Any) -> Any:
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


async def test_without_apps_the_model_sees_the_seven_tools_with_the_ui_pointer(
    server: MCPServer, mode: str
) -> None:
    async with Client(server, mode=mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert sorted(tools) == MODEL_TOOLS
    for name, tool in tools.items():
        ui = (tool.meta or {}).get("ui")
        if name in UI_TOOLS:
            assert ui == {"resourceUri": STUDIO_URI}
            assert tool.meta is not None and tool.meta["ui/resourceUri"] == STUDIO_URI
        else:
            assert ui is None


async def test_apps_hosts_also_get_the_app_only_tools_marked_for_the_app(
    server: MCPServer, mode: str
) -> None:
    async with _apps(server, mode) as apps, Client(server, mode=mode) as plain:
        with_apps = [_dump(t) for t in (await apps.list_tools()).tools]
        without = [_dump(t) for t in (await plain.list_tools()).tools]
    names = [t["name"] for t in with_apps]
    assert sorted(names) == sorted(MODEL_TOOLS + APP_TOOLS)
    for tool in with_apps:
        if tool["name"] in APP_TOOLS:
            assert tool["_meta"]["ui"] == {"resourceUri": STUDIO_URI, "visibility": ["app"]}
    # What a host shows its model (everything but app-only tools) is exactly the plain client's listing:
    # the studio's tools come last, so they change nothing in how the model's seven are described.
    assert [t for t in with_apps if not is_app_only(Tool.model_validate(t))] == without


async def test_the_page_reads_as_a_self_contained_mcp_app(server: MCPServer, mode: str) -> None:
    async with _apps(server, mode) as client:
        listed = {str(r.uri): r for r in (await client.list_resources()).resources}
        read = await client.read_resource(STUDIO_URI)
    assert listed[STUDIO_URI].mime_type == APP_MIME_TYPE
    (content,) = read.contents
    assert content.mime_type == APP_MIME_TYPE
    html = getattr(content, "text", "")
    assert html == studio_html()
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert len(html.encode()) <= 150_000
    # No CDN, no build step: nothing is loaded from anywhere.
    lowered = html.lower()
    for outside in ("<script src", "<link", "@import", "url(http", 'src="http', "src='http"):
        assert outside not in lowered
    # stdio: no CSP domains, so a host allows the page no network at all.
    assert content.meta == {"ui": {"prefersBorder": True}}


async def test_the_extension_is_advertised(server: MCPServer) -> None:
    # ServerCapabilities.extensions exists on the 2026-07-28 wire only (the 2025-11-25 model has no field).
    async with Client(server, mode="auto") as client:
        assert client.server_capabilities.extensions == {EXTENSION_ID: {}}


async def test_results_are_the_same_with_or_without_apps(server: MCPServer, mode: str) -> None:
    async with Client(server, mode=mode) as plain, _apps(server, mode) as apps:
        first = await plain.call_tool("generate", {"prompt": "a lighthouse at dawn", "kind": "image"})
        status_plain = await plain.call_tool("status", {})
        status_apps = await apps.call_tool("status", {})
        export_plain = await plain.call_tool("export", {"format": "mp4"})
        export_apps = await apps.call_tool("export", {"format": "mp4"})  # same timeline: same file
    assert not first.is_error and first.structured_content is not None
    assert [b.type for b in first.content] == ["text", "image", "resource_link"]
    assert _dump(status_apps) == _dump(status_plain)
    assert export_plain.structured_content is not None and export_apps.structured_content is not None
    assert export_apps.structured_content["file"] == export_plain.structured_content["file"]
    assert [b.type for b in export_apps.content] == [b.type for b in export_plain.content]


async def test_app_only_tools_do_not_exist_for_a_client_without_apps(server: MCPServer, mode: str) -> None:
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("studio_project", {})
    assert result.is_error
    assert "Unknown tool: studio_project" in result.content[0].text  # type: ignore[union-attr]


async def test_media_comes_in_bounded_chunks_that_reassemble(
    server: MCPServer, settings: Settings, mode: str
) -> None:
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    payload = os.urandom(MAX_CHUNK * 2 + 1234)
    (settings.output_dir / "big.mp4").write_bytes(payload)
    got = b""
    calls = 0
    async with _apps(server, mode) as client:
        while True:
            result = await client.call_tool(
                "studio_media", {"file": "fgi://output/big.mp4", "offset": len(got)}
            )
            chunk = result.structured_content
            assert not result.is_error and chunk is not None
            assert chunk["length"] <= MAX_CHUNK and chunk["size"] == len(payload)
            assert chunk["mime_type"] == "video/mp4"
            assert "data" not in result.content[0].text  # type: ignore[union-attr]
            got += base64.b64decode(chunk["data"])
            calls += 1
            if chunk["eof"]:
                break
        too_big = await client.call_tool("studio_media", {"file": "big.mp4", "length": MAX_CHUNK + 1})
        by_path = await client.call_tool("studio_media", {"file": str(settings.output_dir / "big.mp4")})
    assert got == payload and calls == 3
    assert too_big.is_error
    assert by_path.structured_content is not None and by_path.structured_content["length"] == MAX_CHUNK


@pytest.mark.parametrize(
    "ref", ["../secret.txt", "{outside}", "fgi://output/../secret.txt", "link.txt", "nope.png"]
)
async def test_media_refuses_anything_outside_the_output_folder(
    server: MCPServer, settings: Settings, tmp_path: Path, ref: str
) -> None:
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("token=abc")
    (settings.output_dir / "link.txt").symlink_to(secret)
    async with _apps(server, "auto") as client:
        result = await client.call_tool("studio_media", {"file": ref.format(outside=secret)})
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "Not a file in the output folder" in text and "token=abc" not in text


async def test_project_progress_and_estimate_for_the_page(server: MCPServer, mode: str) -> None:
    async with _apps(server, mode) as client:
        empty = (await client.call_tool("studio_project", {})).structured_content
        await client.call_tool("generate", {"prompt": "雪山上的日出", "kind": "image"})
        project = (await client.call_tool("studio_project", {})).structured_content
        started = (await client.call_tool("export", {"format": "mp4", "wait_seconds": 0})).structured_content
        progress = (
            await client.call_tool("studio_progress", {"job_id": started["job_id"]})
        ).structured_content
        done = await client.call_tool("status", {"job_id": started["job_id"], "wait_seconds": 30})
        finished = (
            await client.call_tool("studio_progress", {"job_id": started["job_id"]})
        ).structured_content
        estimate = (
            await client.call_tool("studio_estimate", {"prompt": "a cat", "kind": "image"})
        ).structured_content
        missing = await client.call_tool("studio_progress", {"job_id": "nope"})
    assert empty is not None and empty["tracks"] == [] and empty["project"] is None
    assert project is not None and project["language"] == "zh" and project["project"]["link"]
    assert project["tracks"] and all(seg["duration_ms"] for tr in project["tracks"] for seg in tr["segments"])
    assert project["credits"]["available"] >= 0 and project["media_origins"] == []
    assert project["chunk_bytes"] == MAX_CHUNK
    assert progress is not None and progress["kind"] == "export"
    assert progress["status"] in ("running", "completed")
    assert not done.is_error
    assert finished == {**finished, "status": "completed", "done": True}
    assert estimate is not None and estimate["estimate"] > 0 and estimate["available"] is not None
    assert missing.is_error


async def test_remote_mode_declares_only_the_backend_origin_for_media(settings: Settings) -> None:
    remote = build_server(settings, service_for=lambda ctx: make_service(settings))
    async with Client(remote, extensions=[apps_extension()]) as client:
        read = await client.read_resource(STUDIO_URI)
    origin = settings.api_url.rstrip("/")
    assert read.contents[0].meta == {"ui": {"csp": {"resourceDomains": [origin]}, "prefersBorder": True}}


def test_media_origins_are_bare_http_origins() -> None:
    studio = Studio(
        lambda ctx: pytest.fail("not called"),
        media_origins=[
            "https://api.example.com/v1/x?y",
            "https://user:pw@cdn.example.com:8443/a",
            "ftp://x",
            "",
        ],
    )
    assert studio.media_origins == ["https://api.example.com", "https://cdn.example.com:8443"]
