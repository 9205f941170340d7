"""Figure 1: how soon a finished render becomes a saved file, and how often we poll to get there.

Three users export at once; each render takes a set real time (7, 37, 83 s: off the 30-s grid). The
sandbox journal holds the exact moment each render completed and every poll we made; the seed's
fixed 30-s polling is replayed on the same render times (``stats.seed_detection_latency``), and is
charged the same download and save time we measured, since it would have had to do them too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass
from typing import Final

import anyio

from bench import flows
from bench.context import Bench
from bench.report import Figure
from bench.stats import SEED_POLL_SECONDS, median, ratio, seed_detection_latency, seed_polls
from free_generation_image.sandbox import JournalEntry
from free_generation_image.service import Service

SUBMIT_PATH: Final = "/api/render/proxy/lambda"
TARGET_MEDIAN_S: Final = 2.0
TARGET_POLLS_PER_S: Final = 1.0
SUBMIT_WAIT_S: Final = 30.0


@dataclass(frozen=True)
class RenderTiming:
    """What the journal and the caller's clock say about one export."""

    nominal_s: float  # render_seconds asked of the sandbox
    render_s: float  # submission -> completed, as the sandbox clock saw it
    latency_s: float  # completed -> export returned the saved file
    detect_s: float  # completed -> the poll that saw it answered
    download_s: float  # that poll -> export returned (download, checks, save)
    polls: int
    polls_per_s: float  # polls over submission -> detection
    seed_latency_s: float  # 30-s polling: wait for the next poll, then the same download
    seed_polls: int


def timing(
    nominal: float, render_id: str, returned_at: float, journal: Sequence[JournalEntry]
) -> RenderTiming:
    """One export's figures from the journal (epoch seconds on this machine's clock)."""
    completed = next(
        e for e in journal if e.path == "render.completed" and e.data.get("render_id") == render_id
    )
    created_at = float(completed.data["createdAt"]) / 1000
    polls = [
        e
        for e in journal
        if e.kind == "request" and e.method == "GET" and e.path == f"{SUBMIT_PATH}/{render_id}"
    ]
    detected_at = next(e.at for e in polls if e.at >= completed.at)
    render_s = completed.at - created_at
    download_s = returned_at - detected_at
    return RenderTiming(
        nominal_s=nominal,
        render_s=render_s,
        latency_s=returned_at - completed.at,
        detect_s=detected_at - completed.at,
        download_s=download_s,
        polls=len(polls),
        polls_per_s=len(polls) / (detected_at - created_at),
        seed_latency_s=seed_detection_latency(render_s) + download_s,
        seed_polls=seed_polls(render_s),
    )


async def _submits(bench: Bench) -> int:
    return len(await bench.control(bench.sandbox.requests, SUBMIT_PATH, "POST"))


async def _until_submitted(bench: Bench, count: int) -> None:
    """Wait until the sandbox has accepted ``count`` render submissions (render_seconds is read then)."""
    with anyio.fail_after(SUBMIT_WAIT_S):
        while await _submits(bench) < count:  # noqa: ASYNC110 - another process: no event to wait on
            await anyio.sleep(0.02)


async def measure(bench: Bench) -> list[Figure]:
    """Export on three timelines at once, each render taking one of ``scale.render_seconds``."""
    durations = bench.scale.render_seconds
    clock = bench.scale.generation_s
    await bench.control(
        bench.sandbox.configure, generation_seconds=clock, edit_seconds=clock / 4, media_scale=0.25
    )
    returned: dict[int, tuple[float, str]] = {}

    async def export(index: int, service: Service) -> None:
        result = await service.export("mp4", wait_seconds=300)
        returned[index] = (time.time(), result.render_id or "")
        if result.status != "completed" or result.file is None:
            raise RuntimeError(f"export {index} ended {result.status}")

    async with AsyncExitStack() as stack:
        policy = bench.scale.poll_policy
        services = [
            await stack.enter_async_context(
                flows.user_service(bench.url, bench.folder(f"render-{i}"), poll_policy=policy)
            )
            for i in range(len(durations))
        ]
        async with anyio.create_task_group() as tasks:
            for index, service in enumerate(services):
                tasks.start_soon(flows.generate, service, index)
        async with anyio.create_task_group() as tasks:
            for index, (service, seconds) in enumerate(zip(services, durations, strict=True)):
                already = await _submits(bench)
                await bench.control(bench.sandbox.configure, render_seconds=seconds)
                tasks.start_soon(export, index, service)
                await _until_submitted(bench, already + 1)
    journal = await bench.control(bench.sandbox.journal)
    timings = [timing(durations[i], returned[i][1], returned[i][0], journal) for i in range(len(durations))]
    return figures(timings)


def figures(timings: Sequence[RenderTiming]) -> list[Figure]:
    """The two rows of figure 1: latency (vs the seed) and polling rate (vs the seed's 1/30 s)."""
    ours = median([t.latency_s for t in timings])
    seed = median([t.seed_latency_s for t in timings])
    rate = sum(t.polls for t in timings) / sum(t.polls / t.polls_per_s for t in timings)
    per_render = ", ".join(
        f"{t.nominal_s:g} s render: {t.latency_s:.2f} s ({t.detect_s:.2f} detect + {t.download_s:.2f} "
        f"save; seed {t.seed_latency_s:.1f} s), {t.polls} polls"
        for t in timings
    )
    details = {"renders": [asdict(t) for t in timings]}
    return [
        Figure(
            key="render_detection",
            title="1. render completed -> file saved (median)",
            value=ours,
            unit="s",
            baseline=seed,
            baseline_label=f"seed {SEED_POLL_SECONDS:g}-s polling, simulated",
            ratio=ratio(ours, seed),
            ratio_label="ours/seed",
            target=f"≤ {TARGET_MEDIAN_S:g} s",
            met=ours <= TARGET_MEDIAN_S,
            note=per_render,
            details=details,
        ),
        Figure(
            key="render_poll_rate",
            title="1. render polls per second (mean)",
            value=rate,
            unit="polls/s",
            baseline=1 / SEED_POLL_SECONDS,
            baseline_label="seed",
            ratio=ratio(rate, 1 / SEED_POLL_SECONDS),
            ratio_label="ours/seed",
            target=f"≤ {TARGET_POLLS_PER_S:g}/s",
            met=rate <= TARGET_POLLS_PER_S,
            details=details,
        ),
    ]
