"""Pure: measured figures -> the console table, ``results.json`` and the README's results block."""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

Unit = Literal["s", "ms", "us", "events/s", "MB", "polls/s"]

README_START: Final = "<!-- bench:results:start -->"
README_END: Final = "<!-- bench:results:end -->"


@dataclass(frozen=True)
class Figure:
    """One row of the table: our value, its baseline measured in the same run, and the target."""

    key: str  # stable id in results.json, e.g. "client_overhead"
    title: str  # what is measured, for people
    value: float
    unit: Unit
    baseline: float | None = None
    baseline_label: str = ""
    ratio: float | None = None  # as the target reads it (see ``ratio_label``)
    ratio_label: str = ""  # e.g. "ours/bare", "bare/ours (speed)"
    target: str = ""
    met: bool | None = None  # None: no target, or not judged (quick mode)
    note: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


def show(value: float | None, unit: Unit) -> str:
    """A value with its unit, rounded for reading."""
    if value is None:
        return "-"
    if math.isnan(value):
        return "n/a"
    if unit == "events/s":
        return f"{value / 1000:,.0f}k ev/s"
    if unit == "us":
        return f"{value:,.0f} µs"
    if unit == "ms":
        return f"{value:,.1f} ms"
    if unit == "s":
        return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    return f"{value:.2f}/s"  # polls/s


def show_ratio(value: float | None) -> str:
    if value is None:
        return "-"
    return "n/a" if math.isnan(value) else f"{value:.2f}×"


def verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "-"}[met]


def _rows(figures: Sequence[Figure]) -> list[list[str]]:
    return [
        [
            f.title,
            show(f.value, f.unit),
            show(f.baseline, f.unit),
            show_ratio(f.ratio),
            f.target or "-",
            verdict(f.met),
        ]
        for f in figures
    ]


HEADER: Final = ["figure", "ours", "baseline (same run)", "ratio", "target", "verdict"]


def text_table(figures: Sequence[Figure]) -> str:
    """The console table, columns aligned."""
    rows = [HEADER, *_rows(figures)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(figures: Sequence[Figure]) -> str:
    """The same table in Markdown, with each baseline named in its cell."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for f, row in zip(figures, _rows(figures), strict=True):
        if f.baseline_label and f.baseline is not None:
            row[2] = f"{row[2]} ({f.baseline_label})"
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines)


def notes(figures: Sequence[Figure]) -> list[str]:
    """The per-figure notes worth printing under the table."""
    return [f"{f.title}: {f.note}" for f in figures if f.note]


def machine() -> dict[str, Any]:
    """Where the run happened: enough to compare two runs."""
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name (Linux), else what ``platform`` knows."""
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            name, _, value = line.partition(":")
            if name.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_line(info: Mapping[str, Any], load: Sequence[float] | None) -> str:
    """One line naming the machine and its load during the run."""
    text = f"{info['nproc']} CPU(s), {info['cpu']}, Python {info['python']}, {info['date']}"
    if load:
        text += f", load average {' / '.join(f'{x:.2f}' for x in load)} (1/5/15 min, at the end)"
    return text


def results_document(
    figures: Sequence[Figure],
    *,
    quick: bool,
    seconds: float,
    load_before: Sequence[float],
    load_after: Sequence[float],
    info: Mapping[str, Any],
) -> dict[str, Any]:
    """The JSON written to ``bench/results.json``."""
    return {
        "machine": dict(info),
        "load_average": {"before": list(load_before), "after": list(load_after)},
        "quick": quick,
        "seconds": round(seconds, 1),
        "figures": [_json_safe(asdict(f)) for f in figures],
    }


def publish(
    figures: Sequence[Figure],
    results: Path | None,
    *,
    quick: bool,
    seconds: float,
    load_before: Sequence[float],
    load_after: Sequence[float],
    info: Mapping[str, Any],
) -> None:
    """Print the table, its notes and the machine line; write the results JSON when ``results`` is set."""
    print(text_table(figures))
    for line in notes(figures):
        print(f"  {line}")
    print(f"machine: {machine_line(info, load_after)}; run took {seconds:.0f} s")
    if results is not None:
        document = results_document(
            figures, quick=quick, seconds=seconds, load_before=load_before, load_after=load_after, info=info
        )
        results.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"results: {results}")


def _json_safe(value: Any) -> Any:
    """NaN is not JSON: write null instead."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def readme_block(figures: Sequence[Figure], info: Mapping[str, Any], load: Sequence[float]) -> str:
    """The README's results section body: machine line, table, notes."""
    parts = [f"Last run: {machine_line(info, load)}.", "", markdown_table(figures)]
    extra = notes(figures)
    if extra:
        parts += ["", *(f"- {line}" for line in extra)]
    return "\n".join(parts)


def replace_block(text: str, block: str) -> str:
    """``text`` with what lies between the README markers replaced by ``block``; ValueError without them."""
    pattern = re.compile(re.escape(README_START) + r".*?" + re.escape(README_END), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"the README has no {README_START} ... {README_END} block")
    return pattern.sub(lambda _: f"{README_START}\n{block}\n{README_END}", text, count=1)
