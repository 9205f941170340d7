"""What every figure gets: the running sandbox, a scratch folder, and the sizes of this run."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

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
    cold_runs: int
    flows: int


FULL = Scale(
    render_seconds=(7.0, 37.0, 83.0),  # off the 30-s grid: the seed is neither flattered nor punished
    requests=1000,
    tool_calls=1000,
    stream_events=100_000,
    stream_runs=3,
    transfer_bytes=200 * 2**20,
    transfer_runs=2,
    cold_runs=5,
    flows=20,
)
QUICK = Scale(
    render_seconds=(0.7, 1.3, 2.1),
    requests=100,
    tool_calls=100,
    stream_events=5_000,
    stream_runs=1,
    transfer_bytes=8 * 2**20,
    transfer_runs=1,
    cold_runs=1,
    flows=3,
)


@dataclass
class Bench:
    """One run: the sandbox (in its own process), where to put files, how big to measure."""

    sandbox: SandboxControl
    workdir: Path
    scale: Scale
    quick: bool

    @property
    def url(self) -> str:
        return self.sandbox.url

    async def control(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call a (blocking) ``SandboxControl`` method without blocking the event loop."""
        return await anyio.to_thread.run_sync(functools.partial(method, *args, **kwargs))

    def folder(self, name: str) -> Path:
        """A fresh sub-folder of the scratch folder."""
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=False)
        return path
