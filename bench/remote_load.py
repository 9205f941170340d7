"""Remote mode under load: N users at once, each generate -> export over Streamable HTTP on one server.

    python -m bench.remote_load            # 50 users, about a minute or two on 2 cores
    python -m bench.remote_load --quick    # 3 users, tiny clocks: a smoke run

A full run writes bench/remote_results.json (a quick one only with --results).

The sandbox and the hosted server (``free-generation-image serve --http``) each run in a process of their
own, quotas lifted. Every user is a distinct sandbox token sent as ``Authorization: Bearer``. Baselines,
measured in the same run against the same sandbox:

- per call, under load: the same N flows through N in-process MCP servers, one per user (what N people
  each running the stdio server have), with the production poll policy on both sides;
- per call, alone: the ``credits`` tool through a real ``free-generation-image serve`` on stdio vs the
  hosted server, in alternating blocks (both in the 2026-07-28 protocol era).

After the load, each hosted user's job list, timeline and files must be its own, and another user's job
and file must be refused. Exit status 1 if any flow failed or any cross-talk was seen.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import anyio
import anyio.to_thread
import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from bench.processes import ROOT, child_env, server_process
from bench.report import Figure, machine, publish
from bench.request_overhead import paired
from bench.stats import median, percentile, ratio
from free_generation_image.mcp_server import build_server
from free_generation_image.sandbox import SandboxControl

HERE: Final = Path(__file__).resolve().parent
READY: Final = re.compile(r"MCP over Streamable HTTP at (\S+)")
START_TIMEOUT: Final = 60.0
CALL_WAIT: Final = 50.0  # what a host's model passes as wait_seconds
CREDITS: Final = 100_000
TOOLS: Final = ("generate", "export")
ClientFactory = Callable[[int], AbstractAsyncContextManager[Client]]


@dataclass(frozen=True)
class Scale:
    users: int
    calls: int  # `credits` calls per side in the sequential pair
    rounds: int  # load rounds per side, alternating which side goes first
    generation_s: float
    render_s: float
    media_scale: float


FULL: Final = Scale(users=50, calls=300, rounds=2, generation_s=2.0, render_s=3.0, media_scale=0.1)
QUICK: Final = Scale(users=3, calls=20, rounds=1, generation_s=0.3, render_s=0.4, media_scale=0.1)


@dataclass
class Flow:
    """One user's generate -> export: seconds per tool (follow-up `status` calls included), what it made."""

    index: int
    seconds: dict[str, float] = field(default_factory=dict)
    round_trips: int = 0
    job_ids: set[str] = field(default_factory=set)
    link: str | None = None  # the generated file's resource link
    error: str | None = None


def marker(index: int) -> str:
    """A word only user ``index``'s prompt contains (a plain number would match inside others)."""
    return f"zq{index:03d}x"


def prompt(index: int) -> str:
    return f"an image of lighthouse {marker(index)} at dusk"


async def _call(client: Client, flow: Flow, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """A tool call, then `status(job_id)` until it is done, as a host's model does; timed as one."""
    started = time.perf_counter()
    result = await client.call_tool(tool, {**args, "wait_seconds": CALL_WAIT})
    flow.round_trips += 1
    data = _checked(tool, result)
    while data.get("status") == "running" and data.get("job_id"):
        flow.job_ids.add(str(data["job_id"]))
        followed = await client.call_tool("status", {"job_id": data["job_id"], "wait_seconds": CALL_WAIT})
        flow.round_trips += 1
        data = _checked(tool, followed).get(tool) or {"status": "running", "job_id": data["job_id"]}
    flow.seconds[tool] = time.perf_counter() - started
    if data.get("status") != "completed":
        raise RuntimeError(f"{tool} ended {data.get('status')}")
    if data.get("job_id"):
        flow.job_ids.add(str(data["job_id"]))
    if tool == "generate":
        link = next((b for b in result.content if b.type == "resource_link"), None)
        flow.link = str(link.uri) if link is not None else None
    return data


def _checked(tool: str, result: CallToolResult) -> dict[str, Any]:
    if result.is_error:
        text = " ".join(getattr(b, "text", "") for b in result.content)
        raise RuntimeError(f"{tool}: {text[:200]}")
    return dict(result.structured_content or {})


async def run_flows(users: int, connect: ClientFactory) -> tuple[float, list[Flow]]:
    """``users`` generate -> export flows at once; (wall seconds, each flow)."""
    flows = [Flow(i) for i in range(users)]

    async def one(flow: Flow) -> None:
        try:
            async with connect(flow.index) as client:
                await _call(client, flow, "generate", {"prompt": prompt(flow.index), "kind": "image"})
                export = await _call(client, flow, "export", {"format": "mp4"})
                if not (export.get("file") or {}).get("url"):
                    raise RuntimeError("export returned no file")
        except Exception as err:  # a benchmark counts every failure rather than stop at the first
            flow.error = f"user {flow.index}: {type(err).__name__}: {err}"

    started = time.perf_counter()
    async with anyio.create_task_group() as tasks:
        for flow in flows:
            tasks.start_soon(one, flow)
    return time.perf_counter() - started, flows


async def cross_talk(flows: Sequence[Flow], connect: ClientFactory) -> list[str]:
    """What any hosted user saw of another's work (empty when isolation held)."""
    problems: list[str] = []
    owner = {job: f.index for f in flows for job in f.job_ids}

    async def check(flow: Flow) -> None:
        other = flows[(flow.index + 1) % len(flows)]
        async with connect(flow.index) as client:
            listing = _checked("status", await client.call_tool("status", {}))
            seen = {str(j["job_id"]) for j in listing.get("jobs") or []}
            foreign = sorted(j for j in seen if owner.get(j, flow.index) != flow.index)
            if foreign or not flow.job_ids <= seen:
                problems.append(f"user {flow.index}: lists {sorted(seen)}, owns {sorted(flow.job_ids)}")
            text = json.dumps(listing)
            strangers = [f.index for f in flows if f is not flow and marker(f.index) in text]
            if strangers or marker(flow.index) not in text:
                problems.append(f"user {flow.index}: status shows the prompts of users {strangers}")
            if other is flow:
                return
            for job in sorted(other.job_ids):
                if not (await client.call_tool("status", {"job_id": job})).is_error:
                    problems.append(f"user {flow.index} could read job {job} of user {other.index}")
            if other.link is not None:
                try:
                    await client.read_resource(other.link)
                    problems.append(f"user {flow.index} could read {other.link} of user {other.index}")
                except Exception:  # refused: what isolation means
                    pass

    async with anyio.create_task_group() as tasks:
        for flow in flows:
            if flow.error is None:
                tasks.start_soon(check, flow)
    return problems


# ------------------------------------------------------------------------------------------ clients
def http_client(mcp_url: str, tokens: Sequence[str]) -> ClientFactory:
    """User i: the official client over Streamable HTTP with token i as the bearer header."""

    @asynccontextmanager
    async def connect(index: int) -> AsyncIterator[Client]:
        headers = {"Authorization": f"Bearer {tokens[index]}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=120, trust_env=False) as http,
            Client(streamable_http_client(mcp_url, http_client=http), mode="auto") as client,
        ):
            yield client

    return connect


def local_client(sandbox_url: str, tokens: Sequence[str], workdir: Path) -> ClientFactory:
    """User i: an MCP server of its own in this process (its own config and output folders), as on stdio."""
    from bench.flows import settings_for

    @asynccontextmanager
    async def connect(index: int) -> AsyncIterator[Client]:
        folder = Path(tempfile.mkdtemp(prefix=f"local-{index}-", dir=workdir))
        server = build_server(settings_for(sandbox_url, folder, tokens[index]))
        async with Client(server, mode="auto") as client:
            yield client

    return connect


@asynccontextmanager
async def stdio_server(sandbox_url: str, token: str, workdir: Path) -> AsyncIterator[Client]:
    """A real ``free-generation-image serve`` child on stdio, for one user."""
    folder = Path(tempfile.mkdtemp(prefix="stdio-", dir=workdir))
    env = child_env(
        {
            "NEMO_API_URL": sandbox_url,
            "NEMO_TOKEN": token,
            "NEMO_CONFIG_DIR": str(folder / "config"),
            "NEMO_OUTPUT_DIR": str(folder / "out"),
        }
    )
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "free_generation_image", "serve"], env=env, cwd=ROOT
    )
    with (folder / "stderr.log").open("w", encoding="utf-8") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode="auto") as client:
            yield client


# ------------------------------------------------------------------------------------------ servers
@contextmanager
def remote_server(
    sandbox_url: str, workdir: Path, users: int
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``serve --http`` on a free port, per-user limits lifted: (its /mcp URL, its process)."""
    log = workdir / "remote.log"
    env = child_env(
        {
            "NEMO_API_URL": sandbox_url,
            "FGI_SECRET_KEY": secrets.token_urlsafe(32),
            "FGI_STATE_DIR": str(workdir / "remote-state"),
            "FGI_RATE_PER_MINUTE": "1000000",
            "FGI_RATE_BURST": "1000000",
            "FGI_MAX_OPEN_USERS": str(4 * users + 10),
        }
    )
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "free_generation_image", "serve", "--http", "--port", "0"],
            stdout=subprocess.DEVNULL,
            stderr=sink,
            cwd=ROOT,
            env=env,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not (found := READY.search(log.read_text(encoding="utf-8", errors="replace"))):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
                raise RuntimeError(f"the remote server did not start:\n{tail}")
            time.sleep(0.05)
        yield found.group(1), proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------------------------------ the run
@dataclass
class Outcome:
    figures: list[Figure]
    failures: list[str]


def _seconds(flows: Sequence[Flow], tool: str) -> list[float]:
    return [f.seconds[tool] for f in flows if tool in f.seconds]


def _flow_seconds(flows: Sequence[Flow]) -> list[float]:
    return [sum(f.seconds.values()) for f in flows if f.error is None]


def _per_flow(remote: Sequence[Flow], local: Sequence[Flow], q: float, label: str) -> Figure:
    ours, base = percentile(_flow_seconds(remote), q), percentile(_flow_seconds(local), q)
    gaps = {t: percentile(_seconds(remote, t), q) - percentile(_seconds(local, t), q) for t in TOOLS}
    by_tool = ", ".join(f"{tool} {1000 * gap:+,.0f} ms" for tool, gap in gaps.items())
    return Figure(
        key=f"remote_flow_{label}",
        title=f"one user's generate->export under load, {label}",
        value=ours,
        unit="s",
        baseline=base,
        baseline_label="in-process MCP server per user",
        ratio=ratio(ours, base),
        ratio_label="remote/local",
        note=(
            f"HTTP + one shared server add {1000 * (ours - base):+,.0f} ms per flow at {label} "
            f"(by tool: {by_tool}; a tool's share moves with when the flows' calls meet at the sandbox)"
        ),
    )


async def measure(scale: Scale, sandbox: SandboxControl, remote_url: str, workdir: Path) -> Outcome:
    await anyio.to_thread.run_sync(
        lambda: sandbox.configure(
            generation_seconds=scale.generation_s,
            edit_seconds=scale.generation_s / 4,
            render_seconds=scale.render_s,
            media_scale=scale.media_scale,
        )
    )

    def tokens(count: int) -> list[str]:
        return [sandbox.new_user(CREDITS).token for _ in range(count)]

    pair_token = await anyio.to_thread.run_sync(lambda: tokens(1)[0])

    # One user, one call at a time: the hosted server vs a real stdio server, alternating blocks.
    async with (
        stdio_server(sandbox.url, pair_token, workdir) as stdio,
        http_client(remote_url, [pair_token])(0) as hosted,
    ):

        async def over_http() -> None:
            _checked("credits", await hosted.call_tool("credits", {}))

        async def over_stdio() -> None:
            _checked("credits", await stdio.call_tool("credits", {}))

        pair = await paired(over_http, over_stdio, scale.calls)

    local: list[Flow] = []
    remote: list[Flow] = []
    walls: dict[str, list[float]] = {"local": [], "remote": []}
    problems: list[str] = []
    for round_ in range(scale.rounds):
        sides = ("local", "remote") if round_ % 2 == 0 else ("remote", "local")
        for side in sides:
            fresh = await anyio.to_thread.run_sync(lambda: tokens(scale.users))
            if side == "local":
                wall, flows = await run_flows(scale.users, local_client(sandbox.url, fresh, workdir))
                local += flows
            else:
                connect = http_client(remote_url, fresh)
                wall, flows = await run_flows(scale.users, connect)
                problems += await cross_talk(flows, connect)
                remote += flows
            walls[side].append(wall)
    local_wall, remote_wall = median(walls["local"]), median(walls["remote"])

    errors = [f.error for f in (*local, *remote) if f.error]
    ok = sum(1 for f in remote if f.error is None)
    total = len(remote)
    trips = sum(f.round_trips for f in remote)
    figures = [
        Figure(
            key="remote_flows",
            title=f"{scale.users} users at once, generate->export over HTTP (median of {scale.rounds})",
            value=remote_wall,
            unit="s",
            baseline=local_wall,
            baseline_label=f"{scale.users} in-process MCP servers",
            ratio=ratio(remote_wall, local_wall),
            ratio_label="remote/local",
            target=f"all {scale.users} succeed, no cross-talk",
            met=not errors and not problems,
            note=(
                f"{ok}/{total} succeeded over HTTP ({trips} tool calls), "
                f"{sum(1 for f in local if f.error is None)}/{len(local)} in-process; "
                f"cross-talk checks: {'none seen' if not problems else '; '.join(problems[:3])}"
                + (f"; errors: {'; '.join(errors[:3])}" if errors else "")
            ),
            details={
                "errors": errors,
                "cross_talk": problems,
                "remote_round_trips": trips,
                "walls": walls,
                "flow_seconds": {"remote": _flow_seconds(remote), "local": _flow_seconds(local)},
            },
        ),
    ]
    figures += [_per_flow(remote, local, 0.5, "p50"), _per_flow(remote, local, 0.95, "p95")]
    for q, label in ((0.5, "p50"), (0.95, "p95")):
        ours, base = percentile(pair.ours, q), percentile(pair.base, q)
        figures.append(
            Figure(
                key=f"remote_call_{label}",
                title=f"credits tool, one call at a time ({scale.calls} each), {label}",
                value=ours,
                unit="us",
                baseline=base,
                baseline_label="free-generation-image serve on stdio",
                ratio=ratio(ours, base),
                ratio_label="http/stdio",
                note=(
                    f"the hosted path adds {ours - base:+,.0f} µs per call at {label} "
                    f"(client CPU {median(pair.ours_cpu):,.0f} vs {median(pair.base_cpu):,.0f} µs per call)"
                ),
            )
        )
    return Outcome(figures, errors + problems)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.remote_load", description=(__doc__ or "").splitlines()[0]
    )
    p.add_argument("--quick", action="store_true", help="3 users, tiny clocks (a smoke run)")
    p.add_argument("--users", type=int, help="concurrent users (default: 50, quick: 3)")
    p.add_argument(
        "--results", type=Path, help="where to write the JSON (full runs: bench/remote_results.json)"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print, save; see the module docstring."""
    args = parser().parse_args(argv)
    scale = QUICK if args.quick else FULL
    if args.users:
        scale = replace(scale, users=args.users)
    from bench.run import SANDBOX_BASE

    load_before = os.getloadavg()
    started = time.perf_counter()
    print(f"remote load: {scale.users} users, each generate -> export over HTTP", file=sys.stderr, flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="fgi-remote-bench-") as scratch,
        server_process("sandbox", json.dumps(SANDBOX_BASE)) as sandbox_proc,
        SandboxControl(sandbox_proc.url, timeout=120) as sandbox,
        remote_server(sandbox_proc.url, Path(scratch), scale.users) as (remote_url, _),
    ):
        outcome = anyio.run(measure, scale, sandbox, remote_url, Path(scratch))
    seconds = time.perf_counter() - started
    load_after = os.getloadavg()
    info = machine()
    figures = outcome.figures
    results = args.results or (None if args.quick else HERE / "remote_results.json")
    publish(
        figures,
        results,
        quick=args.quick,
        seconds=seconds,
        load_before=load_before,
        load_after=load_after,
        info=info,
    )
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
