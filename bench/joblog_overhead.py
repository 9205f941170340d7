"""Figure 9: what a long job history costs a tool call (issue 12: "a call's cost does not grow with history").

Two MCP servers against the sandbox, each with its own config folder and project: one with an empty job
log, one whose log holds ``scale.job_log_jobs`` finished jobs (files of the shape the product writes:
generations with their saved media and credits, exports, uploads, some failed or cancelled, spread over
the last six days, so start-up pruning keeps them all). The ``status`` tool (which lists recent jobs and
reads the project's timeline) and ``credits`` are called through the SDK's in-memory client on both,
alternating in blocks. The first ``status`` on the full log, which reads every file once, is in the note.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import anyio.to_thread
from mcp import Client

from bench import flows
from bench.context import Bench
from bench.report import Figure
from bench.request_overhead import Paired, paired
from bench.stats import median, percentile, ratio
from free_generation_image.config import Settings
from free_generation_image.joblog import JobKind, JobRecord, JobStatus, encode
from free_generation_image.jobs import new_job_id
from free_generation_image.mcp_server import build_server
from free_generation_image.models import (
    ExportResult,
    GenerateResult,
    MediaFile,
    Project,
    UploadedItem,
    UploadResult,
)
from free_generation_image.service import Service
from free_generation_image.store import Store

TARGET_RATIO: Final = 1.2
HISTORY_SECONDS: Final = 6 * 24 * 3600.0  # inside the week that start-up pruning keeps
SEED: Final = 12
TOOLS: Final = ("status", "credits")
LISTED: Final = 10  # jobs that status lists
SUBJECTS: Final = (
    "a lighthouse at dusk",
    "a red fox in snow",
    "waves on black sand",
    "a neon city street in the rain",
    "a paper boat on a pond",
    "一只在雪地里的狐狸",
    "a bowl of ramen, top view, soft light",
)


def _media(out: Path, stem: str, kind: str, rng: random.Random) -> MediaFile:
    ext, mime = ("mp4", "video/mp4") if kind == "video" else ("png", "image/png")
    path = out / f"{stem}.{ext}"
    return MediaFile(
        path=str(path),
        url=f"https://cdn.example.invalid/media/{rng.getrandbits(80):020x}.{ext}",
        resource_uri=f"fgi://output/{path.name}",
        kind=ext,
        mime_type=mime,
        size=rng.randrange(200_000, 40_000_000),
        sidecar=f"{path}.json",
    )


def _result(kind: JobKind, job_id: str, index: int, out: Path, project: Project, rng: random.Random) -> Any:
    """What a finished job of ``kind`` keeps as its result (the product's own models, dumped)."""
    subject = SUBJECTS[index % len(SUBJECTS)]
    stem = f"{subject[:40].replace(' ', '-')}-{index}"
    if kind == "generate":
        media_kind = "video" if index % 3 == 0 else "image"
        spent = 100 if media_kind == "video" else 30
        return GenerateResult(
            status="completed",
            job_id=job_id,
            reply=f"Sure! Generating a 16:9 {media_kind} of {subject}. Done! It is on the timeline; "
            'say "export" and I will render and download it.',
            changes=[f"Added track {media_kind.title()}: {subject} (0-5s)", f"Project name '{subject}'"],
            timeline=f"Timeline (2 tracks, 5s): 1. {media_kind.title()}: {subject} (0-5s) 2. Title (0-3s)",
            media=[_media(out, stem, media_kind, rng)],
            credits_before=10_000 - index * 30,
            credits_after=10_000 - index * 30 - spent,
            credits_spent=spent,
            suggestions=["Export it as MP4 (free)"],
            credits_estimate=spent,
            project=project,
        ).model_dump(mode="json")
    if kind == "export":
        file = _media(out, f"{stem}-export", "video", rng)
        render = f"render_{rng.getrandbits(128):032x}"
        return ExportResult(
            status="completed", job_id=job_id, format="mp4", file=file, url=file.url, render_id=render,
            percent=100.0, project=project,
        ).model_dump(mode="json")  # fmt: skip
    source = out / f"clip-{index}.mp4"
    item = UploadedItem(
        source=str(source),
        filename=source.name,
        file_type="video",
        url=f"https://cdn.example.invalid/{index}",
    )
    return UploadResult(
        job_id=job_id, files=[item], timeline="Timeline (1 track, 8s)", project=project
    ).model_dump(mode="json")


def history(count: int, api_url: str, out: Path, *, now: float, seed: int = SEED) -> list[JobRecord]:
    """``count`` finished jobs of one user over the last six days, newest last."""
    rng = random.Random(seed)
    project = Project(task_id="task_bench", session_id="2128895817795239936", link=None)
    records: list[JobRecord] = []
    for index in range(count):
        kind: JobKind = "generate" if index % 10 < 7 else "export" if index % 10 < 9 else "upload"
        roll = rng.random()
        status: JobStatus = "succeeded" if roll < 0.85 else "failed" if roll < 0.95 else "cancelled"
        created = now - HISTORY_SECONDS * (1 - index / max(1, count))
        job_id = new_job_id()
        params: dict[str, Any] = {"notes": []}
        if kind == "generate":
            params |= {"prompt": f"{SUBJECTS[index % len(SUBJECTS)]}, take {index}", "kind": "auto"}
            params |= {"request_key": f"{rng.getrandbits(128):032x}", "estimate": 30, "in_turn": False}
        elif kind == "export":
            params |= {"fmt": "mp4", "output_dir": str(out), "draft_key": f"{rng.getrandbits(96):024x}"}
        else:
            params |= {"sources": [str(out / f"clip-{index}.mp4")]}
        records.append(
            JobRecord(
                id=job_id,
                kind=kind,
                status=status,
                created_at=created,
                updated_at=created + rng.uniform(3, 90),
                pid=4_000_000 + index,  # long gone: what a week of CLI runs and server restarts leaves
                api_url=api_url,
                owner=f"{rng.getrandbits(64):016x}",
                session_id=project.session_id,
                dedupe_key=f"{rng.getrandbits(128):032x}",
                params=params,
                render_id=f"render_{rng.getrandbits(128):032x}" if kind == "export" else None,
                renders_submitted=1 if kind == "export" else 0,
                percent=100.0 if status == "succeeded" else None,
                message="done" if status == "succeeded" else status,
                result=_result(kind, job_id, index, out, project, rng) if status == "succeeded" else None,
                error=(
                    {"type": "BackendUnavailable", "message": "The backend did not answer.", "hint": "Retry."}
                    if status == "failed"
                    else None
                ),
            )
        )
    return records


def write_history(settings: Settings, count: int) -> int:
    """Fill ``settings``' job log with ``count`` finished jobs (blocking); bytes written."""
    folder = Store(settings.config_dir).path("jobs")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = 0
    for record in history(count, settings.api_url, settings.output_dir, now=time.time()):
        data = encode(record)
        (folder / f"{record.id}.json").write_bytes(data)
        written += len(data)
    return written


@asynccontextmanager
async def connected(settings: Settings) -> AsyncIterator[tuple[Client, Service]]:
    """An MCP client on a server of its own, and the service behind it (with a project)."""
    services: list[Service] = []

    def factory(resolved: Settings) -> Service:
        services.append(Service(resolved))
        return services[-1]

    async with Client(build_server(settings, service_factory=factory)) as client:
        service = services[-1]
        await service.projects.ensure()  # status then reads a real timeline, as it does for a user
        yield client, service


async def call(client: Client, tool: str) -> None:
    result = await client.call_tool(tool, {})
    if result.is_error:
        raise RuntimeError(f"the {tool} tool failed: {result.content}")


async def measure(bench: Bench) -> list[Figure]:
    """Figure 9: ``status`` and ``credits`` with a full job log vs an empty one.

    ``status`` lists the ten newest jobs: a third log of exactly ten separates the cost of listing them
    (the same for any history of ten or more) from what the rest of the history adds (in the note).
    """
    user = await bench.control(bench.sandbox.new_user)
    jobs = bench.scale.job_log_jobs
    empty, ten, full = (
        flows.settings_for(bench.url, bench.folder(f"joblog-{name}"), token=user.token)
        for name in ("empty", "ten", "full")
    )
    size = await anyio.to_thread.run_sync(write_history, full, jobs)
    await anyio.to_thread.run_sync(write_history, ten, LISTED)
    async with (
        connected(empty) as (empty_client, _),
        connected(ten) as (ten_client, _),
        connected(full) as (full_client, full_service),
    ):
        started = time.perf_counter()
        await call(full_client, "status")  # the first call reads every file once
        first_ms = (time.perf_counter() - started) * 1000
        listed = len(await anyio.to_thread.run_sync(full_service.jobs.records))
        if listed != jobs:
            raise RuntimeError(f"the full log lists {listed} jobs, not the {jobs} written")
        samples: dict[str, Paired] = {}
        for tool in TOOLS:

            async def ours(tool: str = tool) -> None:
                await call(full_client, tool)

            async def base(tool: str = tool) -> None:
                await call(empty_client, tool)

            samples[tool] = await paired(ours, base, bench.scale.tool_calls)

        async def listed_ten() -> None:
            await call(ten_client, "status")

        async def listed_all() -> None:
            await call(full_client, "status")

        versus_ten = await paired(listed_all, listed_ten, bench.scale.tool_calls)
    figures = [_figure(tool, samples[tool], jobs, size, first_ms, versus_ten) for tool in TOOLS]
    return [*figures, _history_figure(jobs, versus_ten)]


def _history_figure(jobs: int, versus_ten: Paired) -> Figure:
    """What the history itself adds to ``status``: the full log against a log of just the jobs it lists.

    Against an empty log, ``status`` also returns ten more job summaries (and the client validates them
    against the output schema): a cost of the answer's size, the same for any history of ten or more.
    """
    all_us, ten_us = median(versus_ten.ours), median(versus_ten.base)
    value = ratio(all_us, ten_us)
    return Figure(
        key="joblog_history",
        title=f"9. status: {jobs:,} jobs in the log vs the {LISTED} it lists (median)",
        value=all_us,
        unit="us",
        baseline=ten_us,
        baseline_label=f"a log of {LISTED} jobs",
        ratio=value,
        ratio_label="full log/listed jobs only",
        target=f"≤ {TARGET_RATIO:g}×",
        met=value <= TARGET_RATIO,
        note=f"{len(versus_ten.ours)} calls a side; p90 {percentile(versus_ten.ours, 0.9):,.0f} vs "
        f"{percentile(versus_ten.base, 0.9):,.0f} µs",
        details={"full_median_us": all_us, "ten_median_us": ten_us},
    )


def _figure(tool: str, samples: Paired, jobs: int, size: int, first_ms: float, versus_ten: Paired) -> Figure:
    ours_us, base_us = median(samples.ours), median(samples.base)
    value = ratio(ours_us, base_us)
    note = (
        f"{jobs} job files ({size / jobs / 1000:.1f} kB each); {len(samples.ours)} calls a side; "
        f"p90 {percentile(samples.ours, 0.9):,.0f} vs {percentile(samples.base, 0.9):,.0f} µs; "
        f"client-side CPU per call {median(samples.ours_cpu):,.0f} vs {median(samples.base_cpu):,.0f} µs"
    )
    details: dict[str, Any] = {
        "jobs": jobs,
        "bytes": size,
        "full": {"median_us": ours_us, "p90_us": percentile(samples.ours, 0.9)},
        "empty": {"median_us": base_us, "p90_us": percentile(samples.base, 0.9)},
        "cpu_us_per_call": {"full": median(samples.ours_cpu), "empty": median(samples.base_cpu)},
    }
    if tool == "status":
        all_us, ten_us = median(versus_ten.ours), median(versus_ten.base)
        note += (
            f"; against a log of exactly {LISTED} (the same {LISTED} listed): {ten_us:,.0f} µs, so the "
            f"other {jobs - LISTED} jobs add {all_us - ten_us:,.0f} µs ({ratio(all_us, ten_us):.2f}×); "
            f"the first status after start-up (reads all {jobs} files) took {first_ms:,.0f} ms"
        )
        details |= {
            "first_status_ms": first_ms,
            "versus_ten": {"full_median_us": all_us, "ten_median_us": ten_us, "ratio": ratio(all_us, ten_us)},
        }
    return Figure(
        key=f"joblog_{tool}",
        title=f"9. {tool} tool with {jobs:,} jobs in the log (median)",
        value=ours_us,
        unit="us",
        baseline=base_us,
        baseline_label="empty job log",
        ratio=value,
        ratio_label="full log/empty log",
        target=f"≤ {TARGET_RATIO:g}×",
        met=value <= TARGET_RATIO,
        note=note,
        details=details,
    )


__all__ = ["history", "measure", "write_history"]
