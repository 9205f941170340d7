"""videolib: PyAV loaded on use, and a message of its own for each way it can be unusable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from free_generation_image import videolib
from free_generation_image.errors import NotReady
from free_generation_image.sandbox import video
from tests.pyav_faults import BROKEN_LOAD, with_broken_pyav, without_h264_encoder, without_pyav


def test_pyav_is_there_with_an_h264_encoder() -> None:
    # A regular dependency: a plain install has it, so previews and demo work everywhere.
    assert videolib.load().__name__ == "av"
    assert videolib.h264_encoder() in videolib.H264_ENCODERS
    assert video.problem() is None


def test_missing_pyav_says_it_is_not_installed_and_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    without_pyav(monkeypatch)
    with pytest.raises(videolib.VideoSupportMissing) as caught:
        videolib.load()
    err = caught.value
    assert isinstance(err, NotReady)
    assert err.exit_code == 3
    assert err.message == (
        "Video support is missing: PyAV (the `av` package, which reads and writes video) is not installed "
        "in this Python environment."
    )
    assert "uv tool install --reinstall free-generation-image" in err.hint
    assert "pip install av" in err.hint
    assert "extra" not in err.user_text()
    with pytest.raises(videolib.VideoSupportMissing):
        videolib.h264_encoder()


def test_a_pyav_that_fails_to_load_is_called_broken_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with_broken_pyav(monkeypatch, tmp_path)
    with pytest.raises(videolib.VideoSupportMissing) as caught:
        videolib.load()
    assert caught.value.message == (
        f"Video support is broken: PyAV (the `av` package) is installed but cannot be loaded ({BROKEN_LOAD})."
    )
    assert caught.value.hint.startswith("Reinstall it: `pip install --force-reinstall av`")


def test_a_pyav_without_an_h264_encoder_names_the_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    without_h264_encoder(monkeypatch)
    with pytest.raises(videolib.VideoSupportMissing) as caught:
        videolib.h264_encoder()
    assert "this PyAV build has no H.264 encoder (libx264 or OpenH264)" in caught.value.message
    assert "--only-binary=av" in caught.value.hint


def test_the_sandbox_encoder_falls_back_to_another_h264_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    # A PyAV built against a system FFmpeg without libx264 may still have the built-in one.
    monkeypatch.setattr(videolib, "H264_ENCODERS", ("no-such-h264-encoder", "h264"))
    if videolib.h264_encoder() != "h264":
        pytest.skip("this FFmpeg has no encoder named h264")
    data = video.encode([(Image.new("RGB", (64, 48), "red"), 5)], width=64, height=48, fps=10)
    info = video.probe(data)
    assert info is not None
    assert (info.width, info.height) == (64, 48)


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        (lambda mp, tmp: without_pyav(mp), "is not installed"),
        (with_broken_pyav, "cannot be loaded"),
        (lambda mp, tmp: without_h264_encoder(mp), "no H.264 encoder"),
    ],
    ids=["missing", "broken", "no-encoder"],
)
def test_the_sandbox_says_which_part_of_video_support_is_missing(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fault: Callable[[pytest.MonkeyPatch, Path], None],
    says: str,
) -> None:
    fault(monkeypatch, tmp_path)
    assert not video.available()
    problem = video.problem()
    assert problem is not None
    assert says in problem
    with pytest.raises(video.VideoUnavailable, match=says):
        video.encode([(Image.new("RGB", (16, 16)), 1)], width=16, height=16, fps=10)
