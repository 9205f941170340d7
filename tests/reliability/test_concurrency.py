"""Concurrency: a fresh server hit by many tool calls at once gets one token and one project; two servers
sharing one config dir (in one process, or two processes) never leave a torn or invalid file."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from free_generation_image.config import Settings
from free_generation_image.errors import FGIError
from free_generation_image.mcp_server import build_server
from free_generation_image.sandbox import Sandbox
from tests.helpers import SPEEDUP, leftovers, make_service, prompts_accepted

pytestmark = pytest.mark.anyio


def bootstrap_requests(sandbox: Sandbox) -> tuple[int, int]:
    """(anonymous-token requests, project creations) the sandbox saw."""
    return len(sandbox.requests("/api/auth/anonymous-token")), len(sandbox.requests("/api/tasks/"))


async def test_concurrent_first_calls_share_one_token_and_one_project(
    settings: Settings, sandbox: Sandbox
) -> None:
    async with make_service(settings, speedup=SPEEDUP) as service:
        async with anyio.create_task_group() as tasks:
            for i in range(10):
                tasks.start_soon(service.credits)
                tasks.start_soon(service.status)
                tasks.start_soon(service.upload, [f"https://example.com/clip-{i}.mp4"])
        status = await service.status()
    assert bootstrap_requests(sandbox) == (1, 1)
    assert status.project is not None
    uploads = sandbox.requests("/api/upload-video", "POST")
    assert len(uploads) == 10 and {e.status for e in uploads} == {200}


async def test_concurrent_tool_calls_in_one_mcp_session_share_one_token_and_one_project(
    settings: Settings, sandbox: Sandbox
) -> None:
    server = build_server(settings, service_factory=functools.partial(make_service, speedup=SPEEDUP))
    results: list[Any] = []

    async def call(client: Client, tool: str, arguments: dict[str, Any]) -> None:
        results.append(await client.call_tool(tool, arguments))

    async with Client(server, mode="auto") as client, anyio.create_task_group() as tasks:
        for i in range(10):
            tasks.start_soon(call, client, "credits", {})
            tasks.start_soon(call, client, "status", {})
            tasks.start_soon(call, client, "upload", {"source": f"https://example.com/clip-{i}.mp4"})
    assert len(results) == 30 and not [r for r in results if r.is_error]
    assert bootstrap_requests(sandbox) == (1, 1)


def json_files(config_dir: Path) -> list[Path]:
    return [p for p in config_dir.rglob("*.json") if p.is_file()]


def assert_all_valid(config_dir: Path) -> None:
    for path in json_files(config_dir):
        json.loads(path.read_text())  # raises on a torn or half-written file
    assert leftovers(config_dir) == []


async def _watch(config_dir: Path, torn: list[str]) -> None:
    """Read every state file over and over while others write them; note any that does not parse."""
    while True:
        for path in json_files(config_dir):
            try:
                json.loads(path.read_bytes())
            except FileNotFoundError:
                pass  # replaced between listing and reading: fine
            except ValueError as err:
                torn.append(f"{path.name}: {err}")
        # A pause between passes, not a spin: the writers share this loop and these two cores.
        await anyio.sleep(0.005)


async def test_two_servers_on_one_config_dir_keep_every_file_valid(
    settings: Settings, sandbox: Sandbox
) -> None:
    sandbox.configure(starting_credits=10_000, generation_seconds=0.05)
    torn: list[str] = []
    failures: list[str] = []

    async def hammer(name: str) -> None:
        async with make_service(settings, speedup=SPEEDUP) as service:
            for i in range(6):
                try:
                    await service.credits()
                    await service.upload([f"https://example.com/{name}-{i}.png"])
                    await service.generate(f"an image of {name} number {i}", kind="image", wait_seconds=10)
                    await service.status()
                except FGIError as err:  # listed rather than raised, so every failure shows at once
                    failures.append(f"{name} {i}: {type(err).__name__}")

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(_watch, settings.config_dir, torn)
        async with anyio.create_task_group() as servers:
            servers.start_soon(hammer, "north")
            servers.start_soon(hammer, "south")
        tasks.cancel_scope.cancel()
    assert torn == []
    assert_all_valid(settings.config_dir)
    prompts = [e.message for e in prompts_accepted(sandbox)]
    assert len(prompts) == 12 and len(set(prompts)) == 12  # each prompt reached the agent exactly once
    assert failures == []  # they take turns replacing project.json, yet every call succeeds


async def test_two_servers_starting_together_share_one_token_and_one_project(
    settings: Settings, sandbox: Sandbox
) -> None:
    async def first_calls() -> None:
        async with make_service(settings, speedup=SPEEDUP) as service:
            await service.credits()
            await service.upload(["https://example.com/a.png"])

    async with anyio.create_task_group() as servers:
        servers.start_soon(first_calls)
        servers.start_soon(first_calls)
    assert bootstrap_requests(sandbox) == (1, 1)


HAMMER = """
import sys, anyio
from pathlib import Path
from free_generation_image.store import Store
from free_generation_image.jobs import JobRegistry, Progress
from free_generation_image.projects import ProjectStore, SavedProject

config_dir, api_url, rounds, name = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]

async def main() -> None:
    store = Store(config_dir)
    projects, jobs = ProjectStore(store, api_url), JobRegistry(store, api_url)
    for i in range(rounds):
        projects.save(SavedProject(f"task_{name}_{i}", str(i) * 19, None, "en", 0.0, link="x" * 2000))
        store.write_json("token.json", {api_url: {"token": "t" * 3000, "user_id": name, "expires_at": i}})
        job = jobs.create("generate", session_id=str(i), params={"prompt": name * 500})
        job.update(Progress(message="working", percent=50.0), persist=True)
        job.finish("succeeded", result={"i": i})
        jobs.records()

anyio.run(main)
"""


def test_two_processes_hammering_one_config_dir_never_tear_a_file(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", HAMMER, str(config_dir), "http://sandbox.test", "60", name],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("north", "south")
    ]
    torn: list[str] = []
    reads = 0
    deadline = time.monotonic() + 60
    while any(child.poll() is None for child in children) and time.monotonic() < deadline:
        for path in json_files(config_dir) if config_dir.exists() else []:
            try:
                json.loads(path.read_bytes())
                reads += 1
            except FileNotFoundError:
                pass
            except ValueError as err:
                torn.append(f"{path.name}: {err}")
        # Wait on the children between passes instead of spinning: reading flat out would take a core
        # from the very writers under test (this returns at once when the child ends).
        with contextlib.suppress(subprocess.TimeoutExpired):
            children[0].wait(timeout=0.005)
    errors = [child.communicate(timeout=30)[1] for child in children]
    assert [child.returncode for child in children] == [0, 0], errors
    assert torn == [] and reads > 100
    assert_all_valid(config_dir)
    assert len(list((config_dir / "jobs").glob("job_*.json"))) == 120
