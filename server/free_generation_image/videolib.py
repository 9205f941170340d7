"""PyAV (the ``av`` package, FFmpeg inside), loaded on first use; when it cannot serve, one plain sentence
says which part is missing (the library, its native code, a codec) and how to fix it.

Previews (poster frames), the sandbox's MP4s and ``demo`` use it. It is a regular dependency, so these
errors mean a damaged or unusual environment, never "install an extra".
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType

from free_generation_image.errors import NotReady

# libx264 is in PyPI's PyAV wheels; the others cover builds of PyAV made against a system FFmpeg.
H264_ENCODERS = ("libx264", "libopenh264", "h264_videotoolbox", "h264_mf")
REINSTALL = (
    "Reinstall free-generation-image, which brings it along (e.g. `uv tool install --reinstall "
    "free-generation-image`, or `pip install --force-reinstall free-generation-image`), or install it "
    "alone: `pip install av`."
)


class VideoSupportMissing(NotReady):
    """PyAV cannot read or write video here: not installed, failing to load, or missing a codec."""

    default_hint = REINSTALL


def load() -> ModuleType:
    """The ``av`` module, or :class:`VideoSupportMissing` saying why it cannot be used."""
    try:
        return importlib.import_module("av")
    except ModuleNotFoundError as err:
        if err.name != "av":  # av itself is there: something it needs is not
            raise _broken(err) from err
        raise VideoSupportMissing(
            "Video support is missing: PyAV (the `av` package, which reads and writes video) is not "
            "installed in this Python environment."
        ) from err
    except Exception as err:  # a wheel for another platform, a missing shared library, a bad build...
        raise _broken(err) from err


def _broken(err: BaseException) -> VideoSupportMissing:
    detail = " ".join(str(err).split())[:200] or type(err).__name__
    return VideoSupportMissing(
        f"Video support is broken: PyAV (the `av` package) is installed but cannot be loaded ({detail}).",
        hint="Reinstall it: `pip install --force-reinstall av` (PyPI's wheels carry their own FFmpeg).",
    )


@functools.cache
def _first_encoder(candidates: tuple[str, ...]) -> str | None:
    av = load()
    for name in candidates:
        try:
            av.codec.Codec(name, "w")
        except (ValueError, av.error.FFmpegError):  # UnknownCodecError is a ValueError
            continue
        return name
    return None


def h264_encoder() -> str:
    """The name of an H.264 encoder this PyAV build has, or :class:`VideoSupportMissing` (also when PyAV
    itself cannot be loaded): what ``demo`` checks before it starts."""
    load()
    name = _first_encoder(H264_ENCODERS)
    if name is None:
        raise VideoSupportMissing(
            "Video support is incomplete: this PyAV build has no H.264 encoder (libx264 or OpenH264), "
            "so no MP4 can be made.",
            hint="Install PyAV's own wheel from PyPI, which includes one: "
            "`pip install --force-reinstall --only-binary=av av`.",
        )
    return name


def missing_decoder(codec: str) -> VideoSupportMissing:
    """The error for a video whose codec this PyAV build cannot decode."""
    return VideoSupportMissing(
        f"Video support is incomplete: this PyAV build cannot decode {codec} video.",
        hint="Install PyAV's own wheel from PyPI, which decodes the common codecs: "
        "`pip install --force-reinstall --only-binary=av av`.",
    )


__all__ = ["H264_ENCODERS", "VideoSupportMissing", "h264_encoder", "load", "missing_decoder"]
