"""``python -m bench --quick`` end to end (every figure, tiny sizes), and the benchmark's pure maths."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from bench.job_pickup import Pickup
from bench.job_pickup import figure as pickup_figure
from bench.joblog_overhead import history
from bench.loop_lag import Phase, PhaseResult, Tick, figures, site
from bench.render_detection import timing
from bench.report import README_END, README_START, Figure, replace_block, text_table
from bench.run import FIGURES, main, selected
from bench.stats import percentile, seed_detection_latency, seed_polls

from free_generation_image.joblog import encode, parse_record
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
    "joblog_status",
    "joblog_credits",
    "joblog_history",
    "loop_lag",
    "loop_lag_own",
    "job_pickup",
}


@pytest.mark.slow
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
    assert figures["joblog_status"]["details"]["jobs"] == 100
    assert figures["joblog_status"]["details"]["versus_ten"]["ten_median_us"] > 0
    phases = figures["loop_lag"]["details"]["phases"]
    assert set(phases) == {"idle", "status", "download", "both"}
    assert phases["both"]["status_calls"] > 0 and phases["idle"]["status_calls"] == 0
    assert all(phase["ticks"] > 0 for phase in phases.values())
    (pickup,) = figures["job_pickup"]["details"]["runs"]
    assert 0 < pickup["other_s"] < 60 and pickup["on_disk"] >= pickup["updated_at"]
    table = capsys.readouterr().out
    assert "1. render completed -> file saved" in table and "8. 2 generate->export flows" in table
    assert "9. status tool with 100 jobs" in table and "11. job of another process" in table


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


def test_job_history_is_made_of_valid_finished_records_of_this_api() -> None:
    records = history(200, "http://127.0.0.1:1", Path("/tmp/out"), now=1_000_000_000.0)
    assert len({r.id for r in records}) == 200
    assert all(r.done and r.api_url == "http://127.0.0.1:1" for r in records)
    assert {r.kind for r in records} == {"generate", "export", "upload"}
    assert {r.status for r in records} == {"succeeded", "failed", "cancelled"}
    assert all(1_000_000_000.0 - 7 * 24 * 3600 < r.created_at < 1_000_000_000.0 for r in records)
    assert all(parse_record(encode(r)) == r for r in records)  # what the product reads back


def test_loop_lag_figures_separate_cpu_waits_from_the_loops_own_blocking() -> None:
    def phase(name: Phase, *ticks: tuple[float, float], calls: int = 0) -> PhaseResult:
        return PhaseResult(name, 1.0, [Tick(*t) for t in ticks], status_ms=[5.0] * calls)

    results = [
        phase("both", (1.0, 0.0), (70.0, 60.0), (30.0, 0.0), calls=3),
        phase("download", (4.0, 0.0)),
        phase("status", (2.0, 1.0), calls=2),
        phase("idle", (0.5, 0.0), (2.0, 1.5)),
    ]
    raw, own = figures(results, 200 * 2**20)
    assert (raw.value, raw.baseline, raw.met) == (70.0, 2.0, False)
    assert (own.value, own.baseline, own.met) == (30.0, 0.5, True)
    assert "waited 60.0 ms of its 70.0 ms for a CPU" in raw.note and "200 MiB" in raw.title


def test_stack_site_names_the_innermost_frame() -> None:
    import sys

    assert site(sys._getframe()).startswith("test_stack_site_names_the_innermost_frame (test_smoke.py:")
    assert site(None) == "unknown"


def test_pickup_is_judged_on_the_slowest_follower() -> None:
    runs = [Pickup("job_a", 100.0, 99.99, 100.2, 100.001), Pickup("job_b", 200.0, 199.99, 201.5, 200.002)]
    fig = pickup_figure(runs)
    assert fig.value == pytest.approx(1.5) and fig.met is False
    assert fig.baseline == pytest.approx(0.002)
    assert "0.20, 1.50 s" in fig.note
