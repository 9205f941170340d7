"""Graceful shutdown: a generation running when the server stops is collected by the next server."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from free_generation_image.remote.serve import run_in_thread
from free_generation_image.sandbox import Sandbox
from tests.helpers import connect, make_remote_service, remote_config

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
    sandbox.configure(generation_seconds=3.0)  # outlasts the shutdown by far
    config = remote_config(sandbox, tmp_path / "state")
    user = sandbox.new_user(credits=500)
    with run_in_thread(config, factory=make_remote_service) as first:
        async with connect(first.mcp_url, user.token) as client:
            started = await client.call_tool(
                "generate", {"prompt": "an image of a snowy owl", "kind": "image", "wait_seconds": 0}
            )
        running = started.structured_content or {}
        assert not started.is_error and running["status"] == "running", started.content
        await _until(lambda: _streaming(sandbox))  # the backend is mid-turn when the server goes
    # Leaving the block is what SIGTERM does to uvicorn: should_exit, drain, lifespan shutdown.
    assert first.stopped
    stopped_at = time.time()
    assert len(_prompts(sandbox)) == 1

    # State reads every 0.3 s for 6 s (production: 5 min) cover the rest of the 3-s turn.
    patient = functools.partial(make_remote_service, recovery_delays=(0.3,) * 20)
    with run_in_thread(config, factory=patient) as second:
        async with connect(second.mcp_url, user.token) as client:
            listing = (await client.call_tool("status", {})).structured_content or {}
            assert running["job_id"] in {j["job_id"] for j in listing["jobs"]}
            done = await client.call_tool("status", {"job_id": running["job_id"], "wait_seconds": 30})
    collected = done.structured_content or {}
    assert not done.is_error, done.content
    assert collected["job"]["status"] in ("succeeded", "completed"), collected["job"]
    generated = collected.get("generate") or {}
    assert generated.get("status") == "completed" and generated.get("media"), collected
    assert len(_prompts(sandbox)) == 1  # collected by reading state: the prompt was never sent again
    # The backend finished the turn after the first server was gone: only the second one could collect it.
    [completed] = [e for e in sandbox.journal(kind="event") if e.path == "turn.completed"]
    assert completed.at > stopped_at
