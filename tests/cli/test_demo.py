"""`free-generation-image demo`: the README's first command, offline, on its own throwaway sandbox."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from free_generation_image import cli
from tests.cli.helpers import run_main


@pytest.fixture(autouse=True)
def _quick_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's pace and 1080p are for people watching; these tests need its flow."""
    quick = cli.demo_sandbox_config().with_changes(
        generation_seconds=0.3, render_seconds=0.5, media_scale=0.25
    )
    monkeypatch.setattr(cli, "demo_sandbox_config", lambda: quick)


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
