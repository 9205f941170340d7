"""``python -m bench``: run every figure against a sandbox on loopback, print the table, save results.

    python -m bench                      # the full run (4-5 min on 2 cores): writes bench/results.json
    python -m bench --quick              # a smoke run (seconds); writes nothing unless --results is given
    python -m bench --only stream,cold   # some figures only (not written unless --results is given)
    python -m bench --update-readme      # also put the table into bench/README.md

Exit status 1 when a figure could not be measured, or (full runs) missed its target.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Final

import anyio

from bench import (
    cold_start,
    concurrency,
    job_pickup,
    joblog_overhead,
    loop_lag,
    render_detection,
    request_overhead,
    stream_throughput,
    transfers,
)
from bench.context import FULL, QUICK, Bench
from bench.processes import server_process
from bench.report import Figure, machine, publish, readme_block, replace_block
from free_generation_image.sandbox import SandboxControl

HERE: Final = Path(__file__).resolve().parent
Measure = Callable[[Bench], Awaitable[list[Figure]]]

# In the order; each name selects a group of rows with --only.
FIGURES: Final[dict[str, Measure]] = {
    "render": render_detection.measure,
    "client": request_overhead.measure_client,
    "tool": request_overhead.measure_tool,
    "stream": stream_throughput.measure,
    "upload": transfers.measure_upload,
    "download": transfers.measure_download,
    "cold": cold_start.measure,
    "concurrency": concurrency.measure,
    "joblog": joblog_overhead.measure,
    "lag": loop_lag.measure,
    "pickup": job_pickup.measure,
}
# The sandbox at rest: quotas off (every benchmark user gets a token), credits for every flow.
SANDBOX_BASE: Final = {
    "quota_enabled": False,
    "starting_credits": 100_000,
    "heartbeat_interval": 1.0,
    "max_upload_bytes": 512 * 2**20,
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes, targets not judged (a smoke run)")
    p.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(FIGURES)}")
    p.add_argument("--results", type=Path, help="where to write the JSON (default: bench/results.json)")
    p.add_argument("--update-readme", action="store_true", help="put the table into bench/README.md")
    p.add_argument("-v", "--verbose", action="store_true", help="log the product's INFO messages to stderr")
    return p


def selected(only: str) -> list[str]:
    """Figure names to run, in the table's order; ValueError on an unknown name."""
    names = [n.strip() for n in only.split(",") if n.strip()] or list(FIGURES)
    unknown = sorted(set(names) - set(FIGURES))
    if unknown:
        raise ValueError(f"unknown figure(s): {', '.join(unknown)}; known: {', '.join(FIGURES)}")
    return [n for n in FIGURES if n in names]


def failed_figure(name: str, err: BaseException) -> Figure:
    """A row standing for a measurement that raised: shown as n/a, never silently dropped."""
    return Figure(
        key=f"{name}_failed",
        title=f"{name}: not measured",
        value=float("nan"),
        unit="s",
        met=False,
        note=f"{type(err).__name__}: {err}",
    )


async def run_figures(bench: Bench, names: Sequence[str]) -> list[Figure]:
    """Each figure in turn on a reset sandbox; a failure is reported and the run goes on."""
    out: list[Figure] = []
    for name in names:
        await bench.control(bench.sandbox.reset)
        started = time.perf_counter()
        print(f"measuring {name}...", file=sys.stderr, flush=True)
        try:
            out += await FIGURES[name](bench)
        except Exception as err:  # a benchmark reports a broken figure and measures the rest
            traceback.print_exc(file=sys.stderr)
            out.append(failed_figure(name, err))
        print(f"  {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print, save; see the module docstring."""
    args = parser().parse_args(argv)
    try:
        names = selected(args.only)
    except ValueError as err:
        parser().error(str(err))
    if args.update_readme and (args.quick or args.only):
        parser().error("--update-readme records a full run: drop --quick and --only")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    scale = QUICK if args.quick else FULL
    load_before = os.getloadavg()
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="fgi-bench-") as workdir,
        server_process("sandbox", json.dumps(SANDBOX_BASE)) as sandbox,
    ):
        control = SandboxControl(sandbox.url, timeout=120)
        try:
            bench = Bench(control, sandbox, Path(workdir), scale)
            figures = anyio.run(run_figures, bench, names)
        finally:
            control.close()
    seconds = time.perf_counter() - started
    if args.quick:  # sizes too small for the targets to mean anything
        figures = [replace(f, met=None) if not f.key.endswith("_failed") else f for f in figures]
    load_after = os.getloadavg()
    info = machine()
    # Only a full run of every figure replaces the recorded results.
    results = args.results or (None if args.quick or args.only else HERE / "results.json")
    publish(
        figures,
        results,
        quick=args.quick,
        seconds=seconds,
        load_before=load_before,
        load_after=load_after,
        info=info,
    )
    if args.update_readme:
        readme = HERE / "README.md"
        readme.write_text(
            replace_block(readme.read_text(encoding="utf-8"), readme_block(figures, info, load_after)),
            encoding="utf-8",
        )
    return 1 if any(f.met is False for f in figures) else 0
