"""Real H.264 MP4s with PyAV, imported lazily: should PyAV be missing or broken (it is a dependency, so only
in a damaged environment), the sandbox still starts and only the operations that need video fail, with a
message that says what is missing and how to fix it.
"""

from __future__ import annotations

import io
import itertools
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from PIL import Image

from free_generation_image import videolib
from free_generation_image.sandbox.compose import Composition
from free_generation_image.sandbox.media import paint, prompt_image


class VideoUnavailable(RuntimeError):
    """PyAV is missing, cannot be loaded, or has no H.264 encoder; ``str()`` says which and what to do."""


class Stopped(RuntimeError):
    """Encoding was abandoned because the sandbox is shutting down or the job was cancelled."""


@dataclass(frozen=True)
class VideoInfo:
    """What a probe learns about a video file."""

    duration: float
    width: int
    height: int
    fps: float


def _av() -> Any:
    try:
        return videolib.load()
    except videolib.VideoSupportMissing as err:
        raise VideoUnavailable(err.user_text()) from err


def _encoder() -> str:
    try:
        return videolib.h264_encoder()
    except videolib.VideoSupportMissing as err:
        raise VideoUnavailable(err.user_text()) from err


def problem() -> str | None:
    """Why this sandbox cannot make videos (what is missing and how to fix it), or None when it can."""
    try:
        _encoder()
    except VideoUnavailable as err:
        return str(err)
    return None


def available() -> bool:
    """True when PyAV loads and can encode H.264."""
    return problem() is None


def encode(
    runs: Iterable[tuple[Image.Image, int]],
    *,
    width: int,
    height: int,
    fps: int,
    stop: threading.Event | None = None,
) -> bytes:
    """Encode (image, frame count) runs as an H.264 MP4; a run's frame is converted once, then repeated."""
    av = _av()
    codec = _encoder()
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":  # the other encoders take different options; their defaults do
            stream.options = {"preset": "ultrafast", "crf": "26"}
        pts = 0
        to_yuv = av.video.reformatter.VideoReformatter()  # one scaler context for every frame
        for image, count in runs:
            frame = to_yuv.reformat(av.VideoFrame.from_image(image.convert("RGB")), format="yuv420p")
            for _ in range(count):
                if stop is not None and stop.is_set():
                    raise Stopped("encoding stopped")
                frame.pts = pts
                pts += 1
                for packet in stream.encode(frame):
                    container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def prompt_clip(
    prompt: str, width: int, height: int, seconds: float, fps: int, stop: threading.Event | None = None
) -> bytes:
    """A short clip: the prompt's image with a soft light band sweeping across it."""
    base = prompt_image(prompt, width, height)
    frames = max(1, round(seconds * fps))
    band_width = max(2, width // 6)
    band = Image.new("RGB", (band_width, height), (255, 255, 255))
    mask = (
        Image.linear_gradient("L")
        .rotate(90)
        .resize((band_width, height))
        .point(lambda v: int(70 * (1 - abs(v - 127.5) / 127.5)))
    )

    def sweep() -> Iterator[tuple[Image.Image, int]]:
        for i in range(frames):
            frame = base.copy()
            frame.paste(band, (int((width + band_width) * i / frames) - band_width, 0), mask)
            yield frame, 1

    return encode(sweep(), width=width, height=height, fps=fps, stop=stop)


class _Clip:
    """Frames of a video source, decoded lazily and in order (a render walks time forwards)."""

    def __init__(self, data: bytes) -> None:
        self._container = _av().open(io.BytesIO(data))
        self._frames = self._container.decode(video=0)
        self._current: Image.Image | None = None
        self._next: Any = next(self._frames, None)

    def at(self, seconds: float) -> Image.Image | None:
        """The frame showing at ``seconds`` into the clip (its last frame once it has ended)."""
        while self._next is not None and (self._current is None or (self._next.time or 0.0) <= seconds):
            self._current = self._next.to_image()
            self._next = next(self._frames, None)
        return self._current

    def close(self) -> None:
        self._container.close()


def render(
    comp: Composition,
    stills: dict[str, Image.Image],
    clips: dict[str, bytes],
    stop: threading.Event | None = None,
) -> bytes:
    """Encode a composition: clip layers frame by frame, anything else once per unchanging interval."""
    points = comp.boundaries()
    readers = {src: _Clip(data) for src, data in clips.items()}

    def runs() -> Iterator[tuple[Image.Image, int]]:
        for start, end in itertools.pairwise(points):
            first, last = round(start * comp.fps / 1000), round(end * comp.fps / 1000)
            layer = comp.layer_at(start)
            reader = readers.get(layer.src) if layer is not None else None
            if reader is None or layer is None:
                if last > first:
                    yield paint(comp, start, stills), last - first
                continue
            for index in range(first, last):
                frame = reader.at(index / comp.fps - layer.start / 1000)
                yield paint(comp, start, {**stills, layer.src: frame} if frame else stills), 1

    try:
        return encode(runs(), width=comp.width, height=comp.height, fps=comp.fps, stop=stop)
    finally:
        for reader in readers.values():
            reader.close()


def probe(data: bytes) -> VideoInfo | None:
    """Duration/size/fps of a video (or audio-only duration with size 0), or None if unreadable."""
    av = _av()
    try:
        with av.open(io.BytesIO(data)) as container:
            duration = (container.duration or 0) / 1_000_000
            if not container.streams.video:
                return VideoInfo(duration, 0, 0, 0.0)
            stream = container.streams.video[0]
            rate = float(stream.average_rate) if stream.average_rate else 0.0
            return VideoInfo(duration, stream.width, stream.height, rate)
    except (av.error.FFmpegError, ValueError, IndexError):
        return None


def poster(data: bytes) -> Image.Image | None:
    """The first decodable frame of a video, or None."""
    av = _av()
    try:
        with av.open(io.BytesIO(data)) as container:
            for frame in container.decode(video=0):
                image: Image.Image = frame.to_image()
                return image
    except (av.error.FFmpegError, ValueError, IndexError):
        return None
    return None
