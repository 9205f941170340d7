"""Several replicas on one Redis behind no sticky sessions: any replica answers for any job, twin calls
send one prompt, a replica killed mid-job loses nothing, and Redis restarting loses nothing either."""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx2
import pytest

from free_generation_image.sandbox import Sandbox
from tests.helpers import connect
from tests.replicas.conftest import RedisServer, Replica

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def prompts(sandbox: Sandbox) -> int:
    return len(sandbox.requests("/run_sse", "POST"))


def render_submits(sandbox: Sandbox) -> int:
    return len([e for e in sandbox.requests("/api/render/proxy/lambda", "POST") if e.path.endswith("lambda")])


async def call(
    replica: Replica, token: str, tool: str, args: dict[str, Any], mode: str = "auto"
) -> dict[str, Any]:
    async with connect(replica.mcp_url, token, mode) as client:
        result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    return result.structured_content or {}


async def until(check: Any, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await anyio.sleep(0.05)


async def collect(
    replica: Replica, token: str, job_id: str, seconds: float = 55, mode: str = "auto"
) -> dict[str, Any]:
    """``status(job_id)`` until the job ends (a call waits at most 55 s)."""
    deadline = time.monotonic() + 120
    while True:
        status = await call(replica, token, "status", {"job_id": job_id, "wait_seconds": seconds}, mode)
        if status["job"]["status"] != "running" or time.monotonic() > deadline:
            return status
        await anyio.sleep(0.2)


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # stateless 2026-07-28, and handshake-era sessions
async def test_a_job_started_on_one_replica_is_collected_on_another(
    replicas: list[Replica], sandbox: Sandbox, mode: str
) -> None:
    a, b, _ = replicas
    user = sandbox.new_user(credits=500)
    started = await call(
        a, user.token, "generate", {"prompt": "a lighthouse", "kind": "image", "wait_seconds": 0}, mode
    )
    assert started["status"] == "running"
    status = await collect(b, user.token, started["job_id"], mode=mode)
    assert status["job"]["status"] == "succeeded"
    media = status["generate"]["media"]
    assert media and all(m["url"].startswith("http") for m in media)
    assert prompts(sandbox) == 1
    # A saved the file; B fetched its own copy, so the resource link B hands out resolves on B.
    async with connect(b.mcp_url, user.token, mode) as client:
        answer = await client.call_tool("status", {"job_id": started["job_id"]})
        link = next(block for block in answer.content if block.type == "resource_link")
        read = await client.read_resource(str(link.uri))
        assert read.contents and read.contents[0].mime_type == link.mime_type
    # The project pointer is shared too: B continues the project A started.
    listed = await call(b, user.token, "status", {}, mode)
    assert listed["project"]["session_id"] == status["generate"]["project"]["session_id"]


async def test_twin_calls_on_two_replicas_send_one_prompt(replicas: list[Replica], sandbox: Sandbox) -> None:
    a, b, c = replicas
    user = sandbox.new_user(credits=500)
    results: list[dict[str, Any]] = []

    async def on(replica: Replica) -> None:
        args = {"prompt": "two cats on a sofa", "kind": "image", "wait_seconds": 40}
        results.append(await call(replica, user.token, "generate", args))

    async with anyio.create_task_group() as tg:
        for replica in (a, b, c):
            tg.start_soon(on, replica)
    summary = [(r["job_id"], r["status"], r.get("progress"), r.get("deduplicated")) for r in results]
    assert len({r["job_id"] for r in results}) == 1, summary
    assert all(r["status"] == "completed" for r in results), summary
    assert prompts(sandbox) == 1


async def test_a_replica_killed_mid_generation_is_finished_by_a_survivor(
    replicas: list[Replica], sandbox: Sandbox
) -> None:
    a, b, _ = replicas
    user = sandbox.new_user(credits=500)
    started = await call(
        a, user.token, "generate", {"prompt": "a red kite", "kind": "image", "wait_seconds": 0}
    )
    await until(lambda: prompts(sandbox) == 1)
    a.kill()
    status = await collect(b, user.token, started["job_id"])
    assert status["job"]["status"] == "succeeded", status
    assert status["generate"]["media"] and status["generate"]["media"][0]["url"].startswith("http")
    assert prompts(sandbox) == 1  # read back, never sent again


async def test_a_replica_killed_mid_render_is_finished_by_a_survivor(
    replicas: list[Replica], sandbox: Sandbox
) -> None:
    a, b, _ = replicas
    user = sandbox.new_user(credits=500)
    made = await call(
        a, user.token, "generate", {"prompt": "a blue boat", "kind": "image", "wait_seconds": 40}
    )
    assert made["status"] == "completed"
    started = await call(a, user.token, "export", {"format": "mp4", "wait_seconds": 0})
    assert started["status"] == "running"
    await until(lambda: render_submits(sandbox) == 1)
    a.kill()
    status = await collect(b, user.token, started["job_id"])
    assert status["job"]["status"] == "succeeded", status
    export = status["export"]
    assert export["url"].startswith("http") and export["file"]["path"].endswith(".mp4")
    assert render_submits(sandbox) == 1  # polled by id, never submitted again


async def test_redis_restarting_mid_run_loses_nothing(
    replicas: list[Replica], sandbox: Sandbox, redis_server: RedisServer
) -> None:
    a, b, _ = replicas
    user = sandbox.new_user(credits=500)
    started = await call(
        a, user.token, "generate", {"prompt": "a paper crane", "kind": "image", "wait_seconds": 0}
    )
    await until(lambda: prompts(sandbox) == 1)
    redis_server.stop()
    async with httpx2.AsyncClient(timeout=10) as http:
        health = await http.get(b.url + "/healthz")
        assert health.status_code == 503 and health.json()["store"] == "unreachable"
    # While it is away, calls fail at once with a plain reason instead of hanging.
    async with connect(b.mcp_url, user.token) as client:
        begun = time.monotonic()
        failed = await client.call_tool("status", {"job_id": started["job_id"], "wait_seconds": 30})
        assert failed.is_error and "shared store" in failed.content[0].text  # type: ignore[union-attr]
        assert time.monotonic() - begun < 15
    redis_server.start()
    status = await collect(b, user.token, started["job_id"])
    assert status["job"]["status"] == "succeeded", status
    assert prompts(sandbox) == 1
