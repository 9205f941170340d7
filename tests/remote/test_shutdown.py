"""Graceful shutdown: a generation running when the server stops is collected by the next server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from free_generation_image.remote.serve import run_in_thread
from free_generation_image.sandbox import Sandbox
from tests.remote.conftest import connect, fast_service, remote_config

pytestmark = pytest.mark.anyio


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    # The condition is another thread's doing (the sandbox's journal): poll it.
    with anyio.fail_after(timeout):
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.02)


def _prompts(sandbox: Sandbox) -> list[str]:
    return [e.path for e in sandbox.requests("/run_sse", "POST")]


def _streaming(sandbox: Sandbox) -> bool:
    return any(e.status == 200 and e.data.get("invocation_id") for e in sandbox.requests("/run_sse", "POST"))


async def test_a_generation_running_at_shutdown_is_collected_after_a_restart(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.configure(generation_seconds=1.5)
    config = remote_config(sandbox, tmp_path / "state")
    user = sandbox.new_user(credits=500)
    with run_in_thread(config, factory=fast_service) as first:
        async with connect(first.mcp_url, user.token) as client:
            started = await client.call_tool(
                "generate", {"prompt": "an image of a snowy owl", "kind": "image", "wait_seconds": 0}
            )
        running = started.structured_content or {}
        assert not started.is_error and running["status"] == "running", started.content
        await _until(lambda: _streaming(sandbox))  # the backend is mid-turn when the server goes
    # Leaving the block is what SIGTERM does to uvicorn: should_exit, drain, lifespan shutdown.
    assert first.stopped
    import json, sys
    for f in (tmp_path / "state" / "users").rglob("*"):
        if f.is_file() and "job" in f.name: print(f, f.read_text()[:600], file=sys.stderr)
    assert len(_prompts(sandbox)) == 1

    with run_in_thread(config, factory=fast_service) as second:
        async with connect(second.mcp_url, user.token) as client:
            listing = (await client.call_tool("status", {})).structured_content or {}
            assert running["job_id"] in {j["job_id"] for j in listing["jobs"]}
            done = await client.call_tool("status", {"job_id": running["job_id"], "wait_seconds": 30})
    collected = done.structured_content or {}
    assert not done.is_error, done.content
    assert collected["job"]["status"] in ("succeeded", "completed"), collected
    generated = collected.get("generate") or {}
    assert generated.get("status") == "completed" and generated.get("media"), collected
    assert len(_prompts(sandbox)) == 1  # collected by reading state: the prompt was never sent again
