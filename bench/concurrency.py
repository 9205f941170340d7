"""Figure 8: twenty users at once, each prompt -> saved clip -> exported MP4, on one sandbox.

Each user is a Service of its own (config, project and output folder: what twenty MCP servers of
twenty people are), all in this process and event loop, against one backend. The baseline is the
same flow run alone just before. The sandbox clocks (2 s generation, 3 s render in a full run)
stand for the backend's work; media are encoded at a quarter of 1080p on the same two cores, so CPU contention
of the backend stand-in is part of the ratio.
"""

from __future__ import annotations

import time

import anyio

from bench import flows
from bench.context import Bench
from bench.report import Figure
from bench.stats import median, percentile, ratio


async def run_flows(
    bench: Bench, count: int, label: str
) -> tuple[float, float, float, list[float], list[str]]:
    """``count`` flows at once: (wall seconds for all, CPU seconds of the users' process and of the
    sandbox's meanwhile, each flow's seconds, errors)."""
    seconds: list[float] = []
    errors: list[str] = []

    async def one(index: int) -> None:
        try:
            folder = bench.folder(f"{label}-{index}")
            async with flows.user_service(bench.url, folder, poll_policy=bench.scale.poll_policy) as service:
                seconds.append((await flows.generate_and_export(service, index)).seconds)
        except Exception as err:  # count every failure rather than stop at the first
            errors.append(f"flow {index}: {type(err).__name__}: {err}")

    started, cpu, sandbox_cpu = time.perf_counter(), time.process_time(), bench.process.cpu_seconds()
    async with anyio.create_task_group() as tasks:
        for index in range(count):
            tasks.start_soon(one, index)
    wall = time.perf_counter() - started
    return wall, time.process_time() - cpu, bench.process.cpu_seconds() - sandbox_cpu, seconds, errors


async def measure(bench: Bench) -> list[Figure]:
    """One flow alone, then ``scale.flows`` at once."""
    await bench.control(
        bench.sandbox.configure,
        generation_seconds=bench.scale.generation_s,
        edit_seconds=bench.scale.generation_s / 4,  # the automatic BGM/title pass after a clip
        render_seconds=bench.scale.flow_render_s,
        media_scale=0.25,
    )
    alone, alone_cpu, alone_sandbox, _, alone_errors = await run_flows(bench, 1, "alone")
    count = bench.scale.flows
    total, cpu, sandbox_cpu, each, errors = await run_flows(bench, count, "together")
    errors = alone_errors + errors
    succeeded = len(each)
    failures = f"; errors: {'; '.join(errors[:3])}" if errors else ""
    return [
        Figure(
            key="concurrency",
            title=f"8. {count} generate->export flows at once: total time",
            value=total,
            unit="s",
            baseline=alone,
            baseline_label="one flow alone",
            ratio=ratio(total, alone),
            ratio_label="all/one",
            target=f"all {count} succeed",
            met=succeeded == count and not errors,
            note=(
                f"{succeeded}/{count} succeeded; per flow median {median(each):.2f} s, "
                f"p90 {percentile(each, 0.9):.2f} s; CPU: users {cpu:.1f} s, sandbox {sandbox_cpu:.1f} s "
                f"(one flow: {alone_cpu:.1f} s, {alone_sandbox:.1f} s){failures}"
            ),
            details={
                "flow_seconds": each,
                "errors": errors,
                "alone_seconds": alone,
                "cpu_seconds": cpu,
                "alone_cpu_seconds": alone_cpu,
                "sandbox_cpu_seconds": sandbox_cpu,
                "alone_sandbox_cpu_seconds": alone_sandbox,
            },
        )
    ]
