"""Figure 11: how soon a process following another process's job sees it end.

Process A (``pickup_child``, a real child process with a ``Service`` of its own) runs image generations
on a config dir it shares with this process, B, as the CLI and an MCP server sharing a config dir do.
For each job B calls ``status(job_id, wait_seconds=60)`` as soon as A has started it; the figure is
the time from the job's terminal record landing on disk (its file's mtime) to B's call returning.
The baseline is A's own wait on the same job, in the process that runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import anyio
import anyio.to_thread
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from bench import flows
from bench.context import Bench
from bench.processes import ROOT, child_env
from bench.report import Figure
from bench.stats import median
from free_generation_image.service import Service
from free_generation_image.store import Store

TARGET_S: Final = 1.0
WAIT_SECONDS: Final = 60.0
LINE_LIMIT: Final = 1 << 16


@dataclass(frozen=True)
class Pickup:
    """One job: when its terminal record landed, and when each waiter returned (epoch seconds)."""

    job_id: str
    on_disk: float  # the job file's mtime after it ended
    updated_at: float  # the moment A recorded the end
    other_returned: float  # B, following from another process
    own_returned: float  # A, waiting in the process that runs the job

    @property
    def other_s(self) -> float:
        return self.other_returned - self.on_disk

    @property
    def own_s(self) -> float:
        return self.own_returned - self.on_disk


async def _event(lines: BufferedByteReceiveStream, expected: str, stderr: Path) -> dict[str, Any]:
    try:
        raw = await lines.receive_until(b"\n", LINE_LIMIT)
    except (anyio.EndOfStream, anyio.IncompleteRead):
        tail = (await anyio.Path(stderr).read_text(errors="replace"))[-2000:]
        raise RuntimeError(f"pickup_child ended before its {expected!r} line:\n{tail}") from None
    event: dict[str, Any] = json.loads(raw)
    if event.get("event") != expected:
        raise RuntimeError(f"pickup_child said {event!r}, expected {expected!r}")
    return event


async def follow_one(
    process: Process, lines: BufferedByteReceiveStream, service: Service, stderr: Path
) -> Pickup:
    """Let A start a job, follow it from here to its end, and read when it landed on disk."""
    assert process.stdin is not None
    await process.stdin.send(b"go\n")
    job_id = str((await _event(lines, "started", stderr))["job_id"])
    result = await service.status(job_id, wait_seconds=WAIT_SECONDS)
    returned = time.time()
    if result.job is None or result.job.status != "succeeded":
        raise RuntimeError(
            f"B saw job {job_id} as {result.job.status if result.job else None}: {result.error}"
        )
    ended = await _event(lines, "ended", stderr)
    path = Store(service.settings.config_dir).path("jobs") / f"{job_id}.json"
    on_disk = (await anyio.to_thread.run_sync(path.stat)).st_mtime_ns / 1e9
    return Pickup(job_id, on_disk, float(ended["updated_at"]), returned, float(ended["returned_at"]))


async def measure(bench: Bench) -> list[Figure]:
    """Figure 11: ``scale.pickup_runs`` jobs of process A, each followed by this process."""
    await bench.control(bench.sandbox.configure, generation_seconds=bench.scale.generation_s)
    user = await bench.control(bench.sandbox.new_user)
    folder = bench.folder("pickup")
    stderr = folder / "child-stderr.log"
    command = [sys.executable, "-m", "bench.pickup_child", "--api", bench.url, "--dir", str(folder)]
    pickups: list[Pickup] = []
    with stderr.open("wb") as errors:
        async with (
            flows.user_service(bench.url, folder, token=user.token) as service,
            await anyio.open_process(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                cwd=ROOT,
                env=child_env({"NEMO_TOKEN": user.token}),
            ) as process,
        ):
            assert process.stdout is not None and process.stdin is not None
            lines = BufferedByteReceiveStream(process.stdout)
            for _ in range(bench.scale.pickup_runs):
                pickups.append(await follow_one(process, lines, service, stderr))
            await process.stdin.aclose()  # A exits at the end of its input
            await process.wait()
    return [figure(pickups)]


def figure(pickups: list[Pickup]) -> Figure:
    other = [p.other_s for p in pickups]
    own = [p.own_s for p in pickups]
    recorded = [p.other_returned - p.updated_at for p in pickups]
    worst = max(other)
    return Figure(
        key="job_pickup",
        title=f"11. job of another process: on disk -> status returned (max of {len(pickups)})",
        value=worst,
        unit="s",
        baseline=max(own),
        baseline_label="the owning process's own wait",
        target=f"< {TARGET_S:g} s",
        met=worst < TARGET_S,
        note=(
            f"median {median(other):.2f} s (own process: {median(own) * 1000:.0f} ms); from the moment A "
            f"recorded the end: max {max(recorded):.2f} s; each run: "
            + ", ".join(f"{s:.2f}" for s in other)
            + " s"
        ),
        details={"runs": [{**p.__dict__, "other_s": p.other_s, "own_s": p.own_s} for p in pickups]},
    )


__all__ = ["Pickup", "figure", "measure"]
