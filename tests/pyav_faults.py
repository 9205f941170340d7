"""PyAV made unusable the ways a real install can be, for tests: absent, failing to load, no H.264 encoder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from free_generation_image import videolib

BROKEN_LOAD = "libavformat.so.61: cannot open shared object file: No such file or directory"


def without_pyav(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import av`` fails as if the package were not installed."""
    monkeypatch.setitem(sys.modules, "av", None)


def with_broken_pyav(monkeypatch: pytest.MonkeyPatch, where: Path) -> None:
    """An ``av`` package is found first on the path, and its import fails the way a bad binary wheel does."""
    package = where / "broken-site" / "av"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"raise ImportError({BROKEN_LOAD!r})\n")
    monkeypatch.delitem(sys.modules, "av", raising=False)
    monkeypatch.syspath_prepend(str(package.parent))


def without_h264_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """PyAV loads, but none of the H.264 encoders looked for is in its FFmpeg."""
    monkeypatch.setattr(videolib, "H264_ENCODERS", ("no-such-h264-encoder",))
