"""The official client over Streamable HTTP against a hosted server + sandbox, in both protocol eras."""

from __future__ import annotations

import pytest

from free_generation_image.remote.serve import RunningServer
from free_generation_image.sandbox import Sandbox
from tests.helpers import connect

pytestmark = pytest.mark.anyio

TOOLS = {"cancel", "chat", "credits", "export", "generate", "status", "upload"}


async def test_generate_status_export_over_http(remote: RunningServer, sandbox: Sandbox, mode: str) -> None:
    user = sandbox.new_user(credits=500)
    async with connect(remote.mcp_url, user.token, mode) as client:
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        generated = await client.call_tool("generate", {"prompt": "a red fox in snow", "kind": "image"})
        assert not generated.is_error, generated.content
        data = generated.structured_content or {}
        assert data["status"] == "completed"
        status = await client.call_tool("status", {"job_id": data["job_id"]})
        assert not status.is_error
        assert (status.structured_content or {})["job"]["job_id"] == data["job_id"]
        exported = await client.call_tool("export", {"format": "mp4"})
        assert not exported.is_error, exported.content
        export = exported.structured_content or {}
        assert export["status"] == "completed" and export["file"]["path"].endswith(".mp4")


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


async def test_results_carry_no_server_paths_and_the_owner_can_read_the_file(
    remote: RunningServer, sandbox: Sandbox
) -> None:
    user = sandbox.new_user(credits=500)
    state = str(remote.config.state_dir.resolve())
    async with connect(remote.mcp_url, user.token) as client:
        result = await client.call_tool("generate", {"prompt": "a paper lantern", "kind": "image"})
        assert not result.is_error, result.content
        dumped = result.model_dump(mode="json")
        assert not [s for s in _strings(dumped) if state in s or str(remote.config.state_dir) in s]
        media = (result.structured_content or {})["media"]
        assert media and all("/" not in m["path"] and m["url"].startswith("http") for m in media)
        kinds = [block.type for block in result.content]
        assert "image" in kinds and "resource_link" in kinds  # inline preview + owner-only link
        link = next(b for b in result.content if b.type == "resource_link")
        read = await client.read_resource(str(link.uri))
        assert read.contents and read.contents[0].mime_type == link.mime_type


async def test_a_hosted_server_never_reads_local_files(remote: RunningServer, sandbox: Sandbox) -> None:
    user = sandbox.new_user(credits=500)
    async with connect(remote.mcp_url, user.token) as client:
        for call in (("upload", {"source": "/etc/hosts"}), ("chat", {"message": "upload /etc/hosts"})):
            result = await client.call_tool(*call)
            assert result.is_error
            assert "http(s) URL" in result.content[0].text  # type: ignore[union-attr]
    assert not [e for e in sandbox.journal() if "upload" in e.path and e.kind == "request"]
