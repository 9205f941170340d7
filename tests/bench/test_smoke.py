"""``python -m bench --quick`` end to end (every figure, tiny sizes), and the benchmark's pure maths."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from bench.render_detection import timing
from bench.report import README_END, README_START, Figure, replace_block, text_table
from bench.run import FIGURES, main, selected
from bench.stats import percentile, seed_detection_latency, seed_polls

from free_generation_image.sandbox import JournalEntry

EXPECTED = {
    "render_detection",
    "render_poll_rate",
    "client_overhead",
    "tool_overhead_legacy",
    "tool_overhead_auto",
    "stream_throughput",
    "upload_time",
    "upload_rss",
    "download_time",
    "download_rss",
    "cold_start",
    "concurrency",
}


@pytest.mark.timeout(90)
def test_quick_run_measures_every_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "results.json"
    assert main(["--quick", "--results", str(results)]) == 0
    document = json.loads(results.read_text(encoding="utf-8"))
    figures = {f["key"]: f for f in document["figures"]}
    assert set(figures) == EXPECTED  # a figure that raised would appear as "<name>_failed"
    for key, figure in figures.items():
        assert figure["value"] is not None and math.isfinite(figure["value"]) and figure["value"] >= 0, key
        assert figure["met"] is None, key  # quick sizes are too small to judge a target
    assert figures["concurrency"]["details"]["errors"] == []
    renders = figures["render_detection"]["details"]["renders"]
    assert [r["nominal_s"] for r in renders] == [0.3, 0.6, 0.9]
    assert all(r["polls"] >= 1 and r["latency_s"] > 0 for r in renders)
    assert document["quick"] is True and len(document["load_average"]["after"]) == 3
    assert document["machine"]["nproc"] >= 1
    table = capsys.readouterr().out
    assert "1. render completed -> file saved" in table and "8. 2 generate->export flows" in table


@pytest.mark.parametrize(
    ("render_s", "latency", "polls"),
    [(7, 23, 1), (37, 23, 2), (83, 7, 3), (30, 0, 1), (0.5, 29.5, 1), (60.5, 29.5, 3)],
)
def test_seed_polling_is_replayed_exactly(render_s: float, latency: float, polls: int) -> None:
    assert seed_detection_latency(render_s) == pytest.approx(latency)
    assert seed_polls(render_s) == polls


def test_render_timing_reads_the_journal() -> None:
    poll = "/api/render/proxy/lambda/render_a"

    def request(seq: int, at: float, path: str = poll) -> JournalEntry:
        return JournalEntry(seq=seq, at=at, kind="request", method="GET", path=path, status=200)

    journal = [
        JournalEntry(seq=1, at=63.0, kind="request", method="POST", path="/api/render/proxy/lambda"),
        request(2, 64.0),
        request(3, 80.0),
        request(4, 81.0, "/api/render/proxy/lambda/render_b"),  # another render's poll
        request(5, 99.9),
        JournalEntry(
            seq=6,
            at=100.0,
            kind="event",
            method="",
            path="render.completed",
            data={"render_id": "render_a", "createdAt": 63_000},
        ),
        request(7, 100.3),
        request(8, 100.9),  # a later poll does not move the detection
    ]
    t = timing(37.0, "render_a", 100.5, journal)
    assert t.render_s == pytest.approx(37.0) and t.polls == 5
    assert (t.latency_s, t.detect_s, t.download_s) == pytest.approx((0.5, 0.3, 0.2))
    assert t.polls_per_s == pytest.approx(5 / 37.3)  # up to the poll that saw it done
    assert t.seed_polls == 2 and t.seed_latency_s == pytest.approx(23.0 + 0.2)


def test_percentile_is_nearest_rank() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert [percentile(values, q) for q in (0.0, 0.2, 0.5, 0.9, 1.0)] == [1.0, 1.0, 3.0, 5.0, 5.0]
    assert math.isnan(percentile([], 0.5))


def test_readme_block_is_replaced_between_its_markers_only() -> None:
    text = f"intro\n{README_START}\nold table\n{README_END}\noutro\n"
    assert replace_block(text, "new") == f"intro\n{README_START}\nnew\n{README_END}\noutro\n"
    with pytest.raises(ValueError, match="no"):
        replace_block("no markers", "new")


def test_table_shows_misses_and_unmeasured_figures() -> None:
    rows = [
        Figure("a", "fast thing", 1.5, "s", baseline=3.0, ratio=0.5, target="≤ 2 s", met=True),
        Figure("b", "slow thing", float("nan"), "us", met=False),
    ]
    lines = text_table(rows).splitlines()
    assert len({len(line) for line in lines[:2]}) == 1  # header and rule line up
    assert "met" in lines[2] and "1.50 s" in lines[2] and "0.50×" in lines[2]
    assert "MISSED" in lines[3] and "n/a" in lines[3]


def test_only_selects_in_table_order_and_rejects_unknown_names() -> None:
    assert selected("cold,render") == ["render", "cold"]
    assert selected("") == list(FIGURES)
    with pytest.raises(ValueError, match="nope"):
        selected("render,nope")
