"""``python -m bench.remote_load --quick`` end to end: every figure measured, all flows succeed, no
cross-talk."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from bench.remote_load import main

EXPECTED = {
    "remote_flows",
    "remote_flow_p50",
    "remote_flow_p95",
    "remote_call_p50",
    "remote_call_p95",
}


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_quick_remote_load_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "remote.json"
    assert main(["--quick", "--results", str(results)]) == 0
    figures = {f["key"]: f for f in json.loads(results.read_text(encoding="utf-8"))["figures"]}
    assert set(figures) == EXPECTED
    for key, figure in figures.items():
        assert figure["value"] is not None and math.isfinite(figure["value"]) and figure["value"] > 0, key
        assert figure["baseline"] is not None and figure["baseline"] > 0, key
    flows = figures["remote_flows"]
    assert flows["met"] is True and flows["details"]["errors"] == [] and flows["details"]["cross_talk"] == []
    out = capsys.readouterr().out
    assert "3 users at once, generate->export over HTTP" in out and "per call at p95" in out
