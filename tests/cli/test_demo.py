"""`free-generation-image demo`: the README's first command, offline, on its own throwaway sandbox."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from free_generation_image.cli import demo
from tests.cli.helpers import run_main
from tests.pyav_faults import with_broken_pyav, without_h264_encoder, without_pyav


@pytest.fixture(autouse=True)
def _quick_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's pace and 1080p are for people watching; these tests need its flow."""
    quick = demo.demo_sandbox_config().with_changes(
        generation_seconds=0.3, render_seconds=0.5, media_scale=0.25
    )
    monkeypatch.setattr(demo, "demo_sandbox_config", lambda: quick)


def test_demo_saves_an_image_and_an_mp4_and_touches_nothing_of_the_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The user's real settings must not matter: a bad token or backend here would fail the demo if used.
    monkeypatch.setenv("NEMO_TOKEN", "nmv_usr_not-a-real-token")
    monkeypatch.setenv("NEMO_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("NEMO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("NEMO_OUTPUT_DIR", str(tmp_path / "out"))
    run = run_main(capsys, "demo")
    assert run.code == 0, run.err
    printed = re.fullmatch(r"Image: (?P<image>.+)\nTimeline \(.+\nVideo: (?P<video>.+)\n", run.out)
    assert printed, run.out
    image, video = Path(printed["image"]), Path(printed["video"])
    assert image.parent == video.parent == tmp_path / "out" / "demo"
    assert image.read_bytes().startswith(b"\x89PNG")
    assert video.read_bytes()[4:8] == b"ftyp"
    assert not (tmp_path / "config").exists()
    assert "[1/3]" in run.err
    assert "[3/3]" in run.err


def test_demo_json_and_output_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = run_main(capsys, "demo", "--output", str(tmp_path / "here"), "--json", "--prompt", "a paper crane")
    assert run.code == 0, run.err
    document = json.loads(run.out)
    assert Path(document["image"]).parent == tmp_path / "here"
    assert Path(document["video"]).is_file()
    assert document["generate"]["status"] == document["export"]["status"] == "completed"
    assert document["status"]["ready_to_export"] is True
    assert document["sandbox_url"].startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        (lambda mp, tmp: without_pyav(mp), "Video support is missing: PyAV (the `av` package"),
        (with_broken_pyav, "Video support is broken: PyAV (the `av` package) is installed but cannot"),
        (lambda mp, tmp: without_h264_encoder(mp), "Video support is incomplete: this PyAV build has no H"),
    ],
    ids=["missing", "broken", "no-encoder"],
)
def test_without_working_video_support_the_demo_says_exactly_that_before_starting(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fault: Callable[[pytest.MonkeyPatch, Path], None],
    says: str,
) -> None:
    monkeypatch.setenv("NEMO_OUTPUT_DIR", str(tmp_path / "out"))
    fault(monkeypatch, tmp_path)
    run = run_main(capsys, "demo")
    assert run.code == 3, run.err
    assert run.out == ""
    assert run.err.startswith(f"error: {says}")
    assert run.err.count("\n") == 1
    assert "install" in run.err  # and how to fix it
    for wrong in ("render failed", "try again later", "web app", "[1/3]"):
        assert wrong not in run.err  # not a backend failure, and nothing was started
    assert not (tmp_path / "out").exists()
    as_json = run_main(capsys, "demo", "--json")
    assert as_json.code == 3
    error = json.loads(as_json.out)["error"]
    assert (error["type"], error["exit_code"]) == ("VideoSupportMissing", 3)
    assert error["message"].startswith(says)
