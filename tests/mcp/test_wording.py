"""What a host reads: no backend tool name in any text, structured field, progress line or job record,
whatever the stream framing; job messages that match the job's state."""

from __future__ import annotations

import json

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from free_generation_image.config import Settings
from free_generation_image.sandbox import Sandbox

pytestmark = pytest.mark.anyio

PREFIX = "zq_internal_"
INTERNAL_WORDS = (PREFIX, "seedream", "seedance", "edit_multitrack", "generate_image", "generate_video")


@pytest.mark.parametrize("framing", ["adk", "typed"])
@pytest.mark.parametrize("heartbeat", ["typed", "comment"])
async def test_no_backend_tool_name_reaches_the_host(
    server: MCPServer, sandbox: Sandbox, settings: Settings, mode: str, framing: str, heartbeat: str
) -> None:
    sandbox.configure(framing=framing, heartbeat=heartbeat, tool_prefix=PREFIX, heartbeat_interval=0.02)
    progress: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async with Client(server, mode=mode) as client:
        made = await client.call_tool(
            "generate", {"prompt": "a video of a paper boat", "kind": "video"}, progress_callback=on_progress
        )
        listing = await client.call_tool("status", {})
        job = await client.call_tool("status", {"job_id": (made.structured_content or {})["job_id"]})
    seen = [json.dumps(r.model_dump(mode="json")) for r in (made, listing, job)]
    seen += progress
    seen += [p.read_text() for p in (settings.config_dir / "jobs").glob("*.json")]
    for text in seen:
        for word in INTERNAL_WORDS:
            assert word not in text, (word, text[:300])
    assert (made.structured_content or {})["status"] == "completed"
    [summary] = (listing.structured_content or {})["jobs"]
    assert summary["status"] == "succeeded" and summary["message"] == "done"
