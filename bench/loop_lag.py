"""Figure 10: event-loop lag while a 200 MiB download is saved and ``status`` tool calls run meanwhile.

One MCP server (the SDK's in-memory client) on the sandbox, with a project. A ticker task sleeps 5 ms
over and over and records how late it wakes: that lateness is how long any other call on the loop
(a host's ``status``, a progress notification) would have waited. Phases, each as long as one
download, alternating in order from run to run:

- ``idle``: the ticker alone (the baseline);
- ``status``: two callers making ``status`` tool calls back to back;
- ``download``: ``MediaSaver.save`` (what every export goes through) of the file from
  ``bench.servers transfer``, reporting its bytes to a job as an export does;
- ``both``: the download and the ``status`` callers together (the figure).

A watchdog thread samples the loop thread's stack whenever the ticker is more than 15 ms late,
so a miss says where the loop was blocked, not just that it was.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Final, Literal

import anyio
import anyio.to_thread
from mcp import Client

from bench import flows
from bench.context import Bench
from bench.joblog_overhead import call, connected
from bench.processes import server_process
from bench.report import Figure
from bench.stats import median, percentile, ratio
from bench.transfers import sample_file
from free_generation_image.files import VIDEO_KINDS
from free_generation_image.service import Service

TICK: Final = 0.005
TARGET_MS: Final = 50.0
STATUS_CALLERS: Final = 2
STALL: Final = 0.015  # the ticker this late: the loop is blocked, sample where
SAMPLE_EVERY: Final = 0.002
MIN_PHASE: Final = 0.25  # quick runs' downloads take milliseconds; the other phases get at least this
TOP_SITES: Final = 4

Phase = Literal["idle", "status", "download", "both"]
PHASES: Final[tuple[Phase, ...]] = ("both", "download", "status", "idle")


def site(frame: FrameType | None) -> str:
    """Where a stack is: its innermost frame, and the innermost one of the product's own code."""
    if frame is None:
        return "unknown"
    stack = traceback.extract_stack(frame)
    inner = stack[-1]
    where = f"{inner.name} ({Path(inner.filename).name}:{inner.lineno})"
    ours = next((f for f in reversed(stack) if "free_generation_image" in f.filename), None)
    if ours is None:  # not in the product: name the library it was in
        ours = next((f for f in reversed(stack) if "site-packages" in f.filename), None)
    if ours is not None and ours is not inner:
        where += f" in {ours.name} ({Path(ours.filename).name}:{ours.lineno})"
    return where


class Watchdog:
    """A thread that records the loop thread's stack while the loop's ticker is overdue."""

    def __init__(self) -> None:
        self._loop_thread = threading.get_ident()
        self._last = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-watchdog", daemon=True)
        self.samples: Counter[str] = Counter()

    def beat(self) -> None:
        self._last = time.perf_counter()

    def __enter__(self) -> Watchdog:
        self.beat()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            if time.perf_counter() - self._last > STALL:
                self.samples[site(sys._current_frames().get(self._loop_thread))] += 1


@dataclass
class PhaseResult:
    """One phase: the ticker's lateness (ms) at every tick, and what ran meanwhile."""

    phase: Phase
    seconds: float
    lags_ms: list[float]
    status_ms: list[float] = field(default_factory=list)
    downloaded: int = 0
    blocked: Counter[str] = field(default_factory=Counter)


async def ticker(stop: anyio.Event, watchdog: Watchdog, lags_ms: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await anyio.sleep(TICK)
        watchdog.beat()
        lags_ms.append(max(0.0, time.perf_counter() - started - TICK) * 1000)


async def status_loop(client: Client, stop: anyio.Event, latencies_ms: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await call(client, "status")
        latencies_ms.append((time.perf_counter() - started) * 1000)


class Download:
    """The file saved the way an export saves it, its bytes reported to a job; removed afterwards."""

    def __init__(self, service: Service, url: str, folder: Path) -> None:
        self.service = service
        self.url = url
        self.folder = folder

    async def __call__(self) -> int:
        jobs = self.service.jobs
        job = await anyio.to_thread.run_sync(
            lambda: jobs.create("export", session_id=None, params={"fmt": "mp4"}, message="downloading")
        )
        try:
            saved = await self.service.media.save(
                self.url, "bench-lag", VIDEO_KINDS, self.folder, {"source_url": self.url}, job=job
            )
        except BaseException:
            await job.end("failed", error={"type": "Bench", "message": "download failed", "hint": ""})
            raise
        await job.end("succeeded", result={"file": saved.path})
        for path in (saved.path, saved.sidecar):
            if path:
                await anyio.to_thread.run_sync(Path(path).unlink)
        return saved.size


async def run_phase(
    phase: Phase, client: Client, download: Callable[[], Awaitable[int]], seconds: float
) -> PhaseResult:
    """The ticker alongside what ``phase`` runs: a download (its own length) or ``seconds`` of calls."""
    await anyio.to_thread.run_sync(os.sync)  # no writeback left over from the previous phase
    result = PhaseResult(phase, 0.0, [])
    stop = anyio.Event()
    started = time.perf_counter()
    with Watchdog() as watchdog:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(ticker, stop, watchdog, result.lags_ms)
            if phase in ("status", "both"):
                for _ in range(STATUS_CALLERS):
                    tasks.start_soon(status_loop, client, stop, result.status_ms)
            if phase in ("download", "both"):
                result.downloaded = await download()
            else:
                await anyio.sleep(seconds)
            stop.set()
    result.seconds = time.perf_counter() - started
    result.blocked = watchdog.samples
    return result


async def measure(bench: Bench) -> list[Figure]:
    """Figure 10: the ticker's worst lateness with download + status, against the ticker alone."""
    source = await anyio.to_thread.run_sync(sample_file, bench.folder("lag-source"), bench.scale.transfer_bytes)
    user = await bench.control(bench.sandbox.new_user)
    settings = flows.settings_for(bench.url, bench.folder("lag"), token=user.token)
    results: list[PhaseResult] = []
    with server_process("transfer", str(source.parent)) as server:
        async with connected(settings) as (client, service):
            download = Download(service, f"{server.url}/files/{source.name}", settings.output_dir)
            warm = time.perf_counter()
            await call(client, "status")  # connection, imports and page cache warmed;
            await download()  # ... the download's length sets the other phases'
            seconds = max(MIN_PHASE, time.perf_counter() - warm)
            for run in range(bench.scale.lag_runs):
                for phase in PHASES if run % 2 == 0 else tuple(reversed(PHASES)):
                    results.append(await run_phase(phase, client, download, seconds))
    await anyio.to_thread.run_sync(shutil.rmtree, source.parent)
    return [figure(results, bench.scale.transfer_bytes)]


def summary(results: list[PhaseResult], phase: Phase) -> dict[str, Any]:
    """The ticker's lateness over every run of ``phase``: max, p99, median (ms), and what blocked it."""
    runs = [r for r in results if r.phase == phase]
    lags = [lag for r in runs for lag in r.lags_ms]
    status = [ms for r in runs for ms in r.status_ms]
    blocked: Counter[str] = sum((r.blocked for r in runs), Counter())
    return {
        "max_ms": max(lags, default=float("nan")),
        "p99_ms": percentile(lags, 0.99),
        "median_ms": median(lags),
        "ticks": len(lags),
        "max_per_run_ms": [max(r.lags_ms, default=float("nan")) for r in runs],
        "seconds": [r.seconds for r in runs],
        "status_calls": len(status),
        "status_median_ms": median(status),
        "status_max_ms": max(status, default=float("nan")),
        "blocked_samples": dict(blocked.most_common()),
    }


def figure(results: list[PhaseResult], size: int) -> Figure:
    phases = {phase: summary(results, phase) for phase in PHASES}
    both, idle = phases["both"], phases["idle"]
    worst = both["max_ms"]
    blocked = Counter(both["blocked_samples"])
    sites = "; ".join(
        f"{where} ×{count} (~{count * SAMPLE_EVERY * 1000:.0f} ms)" for where, count in blocked.most_common(TOP_SITES)
    )
    note = (
        f"{size / 2**20:.0f} MiB saved in {median(both['seconds']):.2f} s with {both['status_calls']} status "
        f"calls (median {both['status_median_ms']:.1f} ms, max {both['status_max_ms']:.1f} ms); "
        f"p99 lag {both['p99_ms']:.1f} ms vs {idle['p99_ms']:.1f} ms idle; max lag with the download alone "
        f"{phases['download']['max_ms']:.1f} ms, with status calls alone {phases['status']['max_ms']:.1f} ms"
    )
    if sites:
        note += f"; the loop was > {STALL * 1000:.0f} ms late in: {sites}"
    return Figure(
        key="loop_lag",
        title=f"10. event-loop lag, {size / 2**20:.0f} MiB download + status calls (max)",
        value=worst,
        unit="ms",
        baseline=idle["max_ms"],
        baseline_label="the ticker alone",
        ratio=ratio(worst, idle["max_ms"]),
        ratio_label="with work/idle",
        target=f"< {TARGET_MS:g} ms",
        met=worst < TARGET_MS,
        note=note,
        details={"tick_ms": TICK * 1000, "phases": phases},
    )


__all__ = ["Watchdog", "figure", "measure", "site", "summary"]
