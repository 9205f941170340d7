"""Scaling out: throughput and p95 tool latency with 1, 2 and 3 replicas on one Redis.

    python -m bench.replicas            # 100 users at once, 1/2/3 replicas: a few minutes on 2 cores
    python -m bench.replicas --quick    # 6 users, 1/2 replicas: a smoke run

Each user runs generate -> export (following `status` until done, as a host's model does). Every tool
call opens a fresh stateless connection to the next replica in turn, as a load balancer without sticky
sessions would send it, so calls about one job land on replicas that did not start it. The sandbox runs
in a process of its own with its quotas lifted; Redis is a real ``redis-server`` (no persistence).

Printed per replica count: flows and tool calls per second, p50/p95 latency per tool call, CPU seconds
per tool call in the replicas and in Redis, Redis commands per tool call, and each process's share of
a core, so the limit shows: replicas at 100 % of a core (CPU per call), or Redis (round trips).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import anyio
import httpx2
import psutil  # type: ignore[import-untyped]
import redis
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench.processes import ROOT, child_env, server_process
from bench.remote_load import READY, START_TIMEOUT, prompt
from bench.stats import percentile
from free_generation_image.sandbox import SandboxControl

CALL_WAIT: Final = 50.0


@dataclass(frozen=True)
class Scale:
    users: int
    replicas: tuple[int, ...]
    generation_s: float
    render_s: float


FULL: Final = Scale(users=100, replicas=(1, 2, 3), generation_s=2.0, render_s=3.0)
QUICK: Final = Scale(users=6, replicas=(1, 2), generation_s=0.3, render_s=0.4)


@dataclass
class Run:
    replicas: int
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    flows_done: int = 0
    errors: list[str] = field(default_factory=list)
    replica_cpu: list[float] = field(default_factory=list)
    redis_cpu: float = 0.0
    redis_commands: int = 0
    sandbox_cpu: float = 0.0
    client_cpu: float = 0.0  # this process: 100 simulated users' MCP clients
    peak_share: float = 0.0  # the busiest replica's busiest second, as a share of one core


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server(workdir: Path) -> Iterator[tuple[str, int]]:
    """A throwaway ``redis-server``: (its URL, its pid)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(workdir)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def replicas(count: int, sandbox_url: str, redis_url: str, workdir: Path) -> Iterator[list[tuple[str, int]]]:
    """``count`` replicas of ``serve --http`` on one Redis: [(their /mcp URL, pid)]."""
    key = secrets.token_urlsafe(32)
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    for n in range(count):
        state = workdir / f"replica{n}"
        state.mkdir(parents=True)
        env = child_env(
            {
                "NEMO_API_URL": sandbox_url,
                "FGI_SECRET_KEY": key,
                "FGI_STATE_DIR": str(state),
                "FGI_REDIS_URL": redis_url,
                "FGI_RATE_PER_MINUTE": "1000000",
                "FGI_RATE_BURST": "1000000",
                "FGI_MAX_OPEN_USERS": "1000",
            }
        )
        log = state / "replica.log"
        with log.open("wb") as sink:
            cmd = [sys.executable, "-m", "free_generation_image", "serve", "--http", "--port", "0"]
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=sink, cwd=ROOT, env=env)
        procs.append((proc, log))
    try:
        found: list[tuple[str, int]] = []
        for proc, log in procs:
            deadline = time.monotonic() + START_TIMEOUT
            while not (match := READY.search(log.read_text(encoding="utf-8", errors="replace"))):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("a replica did not start:\n" + log.read_text(errors="replace")[-2000:])
                time.sleep(0.05)
            found.append((match.group(1), proc.pid))
        yield found
    finally:
        for proc, _ in procs:
            proc.terminate()
        for proc, _ in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Balancer:
    """Round-robin over the replicas, one fresh stateless connection per tool call."""

    def __init__(self, urls: Sequence[str]) -> None:
        self.urls = list(urls)
        self.turn = 0

    @asynccontextmanager
    async def client(self, token: str) -> Any:
        url = self.urls[self.turn % len(self.urls)]
        self.turn += 1
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=120, trust_env=False) as http,
            Client(streamable_http_client(url, http_client=http), mode="auto") as client,
        ):
            yield client


async def call(lb: Balancer, run: Run, token: str, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    async with lb.client(token) as client:
        result = await client.call_tool(tool, args)
    run.latencies.append(time.perf_counter() - started)
    if result.is_error:
        raise RuntimeError(" ".join(getattr(b, "text", "") for b in result.content)[:200])
    return dict(result.structured_content or {})


async def flow(lb: Balancer, run: Run, index: int, token: str) -> None:
    try:
        for tool, args in (
            ("generate", {"prompt": prompt(index), "kind": "image"}),
            ("export", {"format": "mp4"}),
        ):
            data = await call(lb, run, token, tool, {**args, "wait_seconds": CALL_WAIT})
            while data.get("status") == "running":
                status = await call(
                    lb, run, token, "status", {"job_id": data["job_id"], "wait_seconds": CALL_WAIT}
                )
                data = status.get(tool) or {"status": "running", "job_id": data["job_id"]}
            if data.get("status") != "completed":
                raise RuntimeError(f"{tool} ended {data.get('status')}")
        run.flows_done += 1
    except Exception as err:  # a benchmark counts every failure
        run.errors.append(f"user {index}: {type(err).__name__}: {err}")


async def sample_peak(run: Run, pids: Sequence[int], every: float = 1.0) -> None:
    """The busiest replica-second: averages hide the burst of 100 users arriving at once."""
    last = [cpu(pid) for pid in pids]
    while True:
        await anyio.sleep(every)
        now = [cpu(pid) for pid in pids]
        run.peak_share = max(run.peak_share, *((n - o) / every for n, o in zip(now, last, strict=True)))
        last = now


def cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def redis_commands(url: str) -> int:
    return int(redis.Redis.from_url(url).info("stats")["total_commands_processed"])


async def measure(
    count: int, users: int, sandbox: SandboxControl, redis_url: str, redis_pid: int, sandbox_pid: int
) -> Run:
    run = Run(count)
    tokens = [sandbox.new_user(100_000).token for _ in range(users)]
    redis.Redis.from_url(redis_url).flushall()
    with (
        tempfile.TemporaryDirectory(prefix="fgi-replicas-") as tmp,
        replicas(count, sandbox.url, redis_url, Path(tmp)) as started,
    ):
        lb = Balancer([url for url, _ in started])
        cpu_before = [cpu(pid) for _, pid in started]
        redis_before, commands_before = cpu(redis_pid), redis_commands(redis_url)
        sandbox_before, client_before = cpu(sandbox_pid), cpu(os.getpid())
        begun = time.perf_counter()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(sample_peak, run, [pid for _, pid in started])
            async with anyio.create_task_group() as users_tg:
                for index, token in enumerate(tokens):
                    users_tg.start_soon(flow, lb, run, index, token)
            tasks.cancel_scope.cancel()
        run.wall = time.perf_counter() - begun
        run.replica_cpu = [cpu(pid) - before for (_, pid), before in zip(started, cpu_before, strict=True)]
        run.redis_cpu = cpu(redis_pid) - redis_before
        run.redis_commands = redis_commands(redis_url) - commands_before
        run.sandbox_cpu = cpu(sandbox_pid) - sandbox_before
        run.client_cpu = cpu(os.getpid()) - client_before
    return run


def report(runs: Sequence[Run], users: int) -> str:
    lines = [
        f"{users} users at once, generate -> export each; {os.cpu_count()} CPU cores on this machine",
        f"{'replicas':>8} {'flows/s':>8} {'calls/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'cpu ms/call':>11} {'redis ms/call':>13} {'redis cmds/call':>15} {'replica core %':>16} "
        f"{'peak %':>6} {'sandbox %':>9} {'clients %':>9} {'machine %':>9}",
    ]
    for run in runs:
        calls = max(1, len(run.latencies))
        shares = "/".join(f"{100 * c / run.wall:.0f}" for c in run.replica_cpu)
        lines.append(
            f"{run.replicas:>8} {run.flows_done / run.wall:>8.2f} {calls / run.wall:>8.1f} "
            f"{1000 * percentile(run.latencies, 0.5):>8.0f} {1000 * percentile(run.latencies, 0.95):>8.0f} "
            f"{1000 * sum(run.replica_cpu) / calls:>11.1f} {1000 * run.redis_cpu / calls:>13.2f} "
            f"{run.redis_commands / calls:>15.0f} {shares:>16} {100 * run.peak_share:>6.0f} "
            f"{100 * run.sandbox_cpu / run.wall:>9.0f} "
            f"{100 * run.client_cpu / run.wall:>9.0f} {100 * machine_share(run):>9.0f}"
        )
    for run in runs:
        busiest = max(run.replica_cpu) / run.wall if run.replica_cpu else 0.0
        if machine_share(run) > 0.8:
            where = (
                "the machine's cores: replicas, Redis, the sandbox (real H.264 renders) and the simulated "
                "clients share them; more replicas help only with more cores"
            )
        elif busiest > 0.8 or run.peak_share > 0.9:
            where = (
                f"replica CPU while the users arrive (the busiest second: {100 * run.peak_share:.0f} % "
                f"of a core, ~{1000 * sum(run.replica_cpu) / max(1, len(run.latencies)):.0f} ms per call): "
                "add replicas"
            )
        elif run.redis_cpu / run.wall > 0.5:
            where = "Redis (round trips per call)"
        else:
            where = "not CPU: the backend's own clocks (generation and render time) and waits"
        lines.append(f"{run.replicas} replica(s): the limit is {where}")
        if run.errors:
            lines.append(f"  {len(run.errors)} flow(s) failed, first: {run.errors[0]}")
    return "\n".join(lines)


def machine_share(run: Run) -> float:
    """The share of all cores the measured processes used together."""
    used = sum(run.replica_cpu) + run.redis_cpu + run.sandbox_cpu + run.client_cpu
    return used / run.wall / (os.cpu_count() or 1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="6 users, 1 and 2 replicas")
    parser.add_argument("--users", type=int, help="simulated users at once (default 100)")
    parser.add_argument("--replicas", help="replica counts to measure, e.g. 1,3 (default 1,2,3)")
    parser.add_argument("--results", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    scale = QUICK if args.quick else FULL
    users = args.users or scale.users
    knobs = {
        "generation_seconds": scale.generation_s,
        "render_seconds": scale.render_s,
        "edit_seconds": 0.1,
        "heartbeat_interval": 0.5,
        "media_scale": 0.1,
        "quota_enabled": False,
        "render_cache": True,
    }
    runs: list[Run] = []
    with (
        tempfile.TemporaryDirectory(prefix="fgi-redis-") as tmp,
        redis_server(Path(tmp)) as (redis_url, redis_pid),
        server_process("sandbox", json.dumps(knobs)) as sandbox_server,
    ):
        sandbox = SandboxControl(sandbox_server.url)
        counts = [int(n) for n in args.replicas.split(",")] if args.replicas else scale.replicas
        for count in counts:
            runs.append(anyio.run(measure, count, users, sandbox, redis_url, redis_pid, sandbox_server.pid))
            print(f"... {count} replica(s) done", file=sys.stderr, flush=True)
    text = report(runs, users)
    print(text)
    if args.results is not None:
        args.results.write_text(json.dumps([run.__dict__ | {"latencies": None} for run in runs], indent=1))
    return 1 if any(run.errors for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
