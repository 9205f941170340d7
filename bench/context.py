"""What every figure gets: the running sandbox, a scratch folder, and the sizes of this run."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from bench.processes import Server
from free_generation_image.polling import PollPolicy
from free_generation_image.sandbox import SandboxControl

T = TypeVar("T")


@dataclass(frozen=True)
class Scale:
    """How big each measurement is. ``FULL`` is what issue #7 asks for; ``QUICK`` is a smoke run."""

    render_seconds: tuple[float, ...]
    requests: int
    tool_calls: int
    stream_events: int
    stream_runs: int
    transfer_bytes: int
    transfer_runs: int
    references: bool  # extra reference runs in figures 5-6: through the sandbox, bare + fsync
    cold_runs: int
    flows: int
    generation_s: float  # the sandbox's generation clock (figures 1 and 8)
    flow_render_s: float  # its render clock in figure 8
    poll_policy: PollPolicy | None  # None: the production one (figures 1 and 8 measure it)
    job_log_jobs: int  # finished jobs in the full job log (figure 9)
    lag_runs: int  # download + status runs of the loop-lag figure (10)
    pickup_runs: int  # jobs followed across processes (figure 11)


FULL = Scale(
    render_seconds=(7.0, 37.0, 83.0),  # off the 30-s grid: the seed is neither flattered nor punished
    requests=1000,
    tool_calls=1000,
    stream_events=100_000,
    stream_runs=3,
    transfer_bytes=200 * 2**20,
    transfer_runs=5,
    references=True,
    cold_runs=5,
    flows=20,
    generation_s=2.0,
    flow_render_s=3.0,
    poll_policy=None,
    job_log_jobs=1000,
    lag_runs=3,
    pickup_runs=5,
)
QUICK = Scale(
    render_seconds=(0.3, 0.6, 0.9),
    requests=100,
    tool_calls=40,
    stream_events=3_000,
    stream_runs=1,
    transfer_bytes=4 * 2**20,
    transfer_runs=1,
    references=False,
    cold_runs=1,
    flows=2,
    generation_s=0.3,
    flow_render_s=0.5,
    poll_policy=PollPolicy(first_delay=0.2, min_delay=0.1),  # a smoke run's renders take < 1 s
    job_log_jobs=100,
    lag_runs=1,
    pickup_runs=1,
)


@dataclass
class Bench:
    """One run: the sandbox (in its own process), where to put files, how big to measure."""

    sandbox: SandboxControl
    process: Server  # the sandbox's process
    workdir: Path
    scale: Scale

    @property
    def url(self) -> str:
        return self.sandbox.url

    async def control(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call a (blocking) ``SandboxControl`` method without blocking the event loop."""
        return await anyio.to_thread.run_sync(functools.partial(method, *args, **kwargs))

    def folder(self, name: str) -> Path:
        """A new, empty sub-folder of the scratch folder, named after ``name``."""
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.workdir))
