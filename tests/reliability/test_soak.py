"""Soak: many tool calls through one MCP session while a seeded dice injects faults, then a check that
nothing leaked: no asyncio task, socket, thread, open file or temp file outlives the session.

The full soak (200 calls over several minutes) is marked ``soak`` and deselected by default:
``pytest -m soak tests/reliability``. A short run of the same code is part of the default suite.
"""

from __future__ import annotations

import asyncio
import functools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import psutil  # type: ignore[import-untyped]
import pytest
from mcp import Client

from free_generation_image.config import Settings
from free_generation_image.mcp_server import build_server
from free_generation_image.sandbox import Sandbox
from tests.helpers import SPEEDUP, leftovers, make_service, prompts_accepted

# (fault, params, path): what the dice may arm before a call, each for one firing.
FAULTS: list[tuple[str, dict[str, Any], str | None]] = [
    ("drop_stream", {"after": 0}, None),
    ("drop_stream", {"after": 2}, None),
    ("drop_stream", {"after": 5}, None),
    ("silent_close", {}, None),
    ("temporary_issue", {}, None),
    ("slow_stream", {"seconds": 0.3}, None),
    ("error_frame", {"after": 3}, None),
    ("adk_error", {"after": 1}, None),
    ("server_error", {}, "/api/credits"),
    ("server_error", {}, "/api/state"),
    ("server_error", {}, "/run_sse"),
    ("malformed_json", {}, "/api/state"),
    ("malformed_json", {}, "/api/render/proxy/lambda"),
    ("rate_limited", {"retry_after": 0.05}, None),
    ("token_expired", {}, None),
    ("session_lost", {}, None),
    ("render_failed", {}, None),
    ("drop_download", {}, "/files/"),
    ("plan_402", {}, None),
]
SUBJECTS = ("fox", "kite", "harbour", "lantern", "owl", "comet", "tram", "glacier")


@dataclass
class Soak:
    """One run: the dice, the jobs it can follow, and what happened."""

    rng: random.Random
    jobs: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    faults: int = 0

    def next_call(self, index: int) -> tuple[str, dict[str, Any]]:
        wait = self.rng.choice([0.0, 0.2, 5.0])
        subject = f"{self.rng.choice(SUBJECTS)} {index}"
        choices: list[tuple[str, dict[str, Any]]] = [
            ("credits", {}),
            ("status", {}),
            ("generate", {"prompt": f"an image of a {subject}", "kind": "image", "wait_seconds": wait}),
            ("generate", {"prompt": f"an image of a {subject}", "kind": "image", "wait_seconds": wait}),
            ("export", {"format": self.rng.choice(["png", "mp4"]), "wait_seconds": wait}),
            ("upload", {"source": f"https://example.com/{index}.png"}),
            ("chat", {"message": self.rng.choice(["credits", "status", "导出"]), "wait_seconds": wait}),
        ]
        if self.jobs:
            job = self.rng.choice(self.jobs)
            choices += [("status", {"job_id": job, "wait_seconds": 2.0}), ("cancel", {"job_id": job})]
        return self.rng.choice(choices)


async def run_soak(settings: Settings, sandbox: Sandbox, calls: int, pace: float, seed: int) -> Soak:
    soak = Soak(random.Random(seed))
    server = build_server(settings, service_factory=functools.partial(make_service, speedup=SPEEDUP))
    async with Client(server, mode="auto") as client:
        for index in range(calls):
            if soak.rng.random() < 0.35:
                name, params, path = soak.rng.choice(FAULTS)
                sandbox.inject(name, path=path, **params)
                soak.faults += 1
            tool, arguments = soak.next_call(index)
            result = await client.call_tool(tool, arguments)  # an exception here fails the soak
            job_id = (result.structured_content or {}).get("job_id")
            if isinstance(job_id, str) and job_id.startswith("job_"):
                soak.jobs.append(job_id)
            key = f"{tool} {'error' if result.is_error else 'ok'}"
            soak.outcomes[key] = soak.outcomes.get(key, 0) + 1
            if pace:
                await anyio.sleep(pace)
        sandbox.clear_faults()
        final = await client.call_tool("credits", {})
        assert not final.is_error, final.content
    others = {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}
    assert others == set(), f"tasks left running: {sorted(t.get_name() for t in others)}"
    return soak


@dataclass(frozen=True)
class Resources:
    """What this process holds that a leak would grow."""

    threads: frozenset[str]
    sockets: int  # client-side connections to the sandbox (its control client's included)
    fds: int

    @classmethod
    def now(cls, sandbox_port: int) -> Resources:
        process = psutil.Process()
        # The sandbox's own threads belong to the fixture, not to the code under test.
        threads = frozenset(
            f"{t.name}#{t.ident}" for t in threading.enumerate() if not t.name.startswith("fgi-sandbox")
        )
        sockets = sum(1 for c in process.net_connections("tcp") if c.raddr and c.raddr.port == sandbox_port)
        return cls(threads, sockets, process.num_fds())


def settle(condition: Callable[[], bool], seconds: float = 3.0) -> bool:
    """Give closing sockets and ending threads a moment; True once ``condition`` holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def soak_and_check(settings: Settings, sandbox: Sandbox, *, calls: int, pace: float, seed: int) -> Soak:
    sandbox.configure(
        starting_credits=1_000_000, generation_seconds=0.05, render_seconds=0.1, edit_seconds=0.02
    )
    port = int(sandbox.url.rsplit(":", 1)[1])
    before = Resources.now(port)
    soak = anyio.run(run_soak, settings, sandbox, calls, pace, seed)
    # The sandbox's control client keeps its one connection; the product must leave none of its own.
    assert settle(lambda: Resources.now(port).sockets <= before.sockets), (
        "connections to the backend left open"
    )
    assert settle(lambda: Resources.now(port).threads <= before.threads), (
        f"threads left: {sorted(Resources.now(port).threads - before.threads)}"
    )
    assert settle(lambda: Resources.now(port).fds <= before.fds), (before.fds, Resources.now(port).fds)
    open_files = [
        f.path
        for f in psutil.Process().open_files()
        if Path(f.path).is_relative_to(settings.config_dir.parent)
    ]
    assert open_files == []
    assert leftovers(settings.output_dir, settings.config_dir) == []
    # The dice really rolled both ways, and no prompt went out twice whatever failed.
    assert soak.faults > calls // 5 and any(k.endswith("error") for k in soak.outcomes), soak.outcomes
    prompts = [e.message for e in prompts_accepted(sandbox)]
    assert len(prompts) == len(set(prompts))
    return soak


def test_short_soak_with_random_faults_leaks_nothing(settings: Settings, sandbox: Sandbox) -> None:
    soak_and_check(settings, sandbox, calls=60, pace=0.0, seed=8)


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_soak_200_calls_over_minutes_with_random_faults_leaks_nothing(
    settings: Settings, sandbox: Sandbox
) -> None:
    soak_and_check(settings, sandbox, calls=200, pace=1.0, seed=2026)
