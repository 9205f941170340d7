"""Pure: a draft read as something to paint — which picture and which caption are on screen when.

Only ``t``/``tt``/``sg``/``d``/``m`` are required (contract §5.1); segment ``s``, ``src``, ``txt``
and ``sty`` are the sandbox's own proposal and are used when present. Two drafts that would look the
same produce the same :meth:`Composition.key`, which is what the render cache is keyed on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

COLORS: dict[str, tuple[int, int, int]] = {
    "white": (255, 255, 255),
    "black": (20, 20, 20),
    "red": (230, 40, 40),
    "blue": (40, 110, 240),
    "green": (40, 190, 80),
    "yellow": (250, 220, 40),
    "orange": (250, 140, 30),
    "purple": (150, 70, 220),
    "pink": (245, 110, 180),
    "gold": (230, 185, 60),
    "neon blue": (60, 200, 255),
}
MAX_DURATION_MS = 10 * 60 * 1000


@dataclass(frozen=True)
class Layer:
    """A picture (image, clip or upload) shown from ``start`` to ``end`` ms."""

    start: int
    end: int
    src: str
    label: str


@dataclass(frozen=True)
class Caption:
    """Title text shown from ``start`` to ``end`` ms."""

    start: int
    end: int
    text: str
    color: tuple[int, int, int]


@dataclass(frozen=True)
class Composition:
    """Everything a renderer needs, in canvas pixels and milliseconds."""

    width: int
    height: int
    fps: int
    duration: int
    layers: tuple[Layer, ...]
    captions: tuple[Caption, ...]

    def key(self, fmt: str) -> str:
        """Content hash of what the output will look like (render cache key)."""
        blob = json.dumps([fmt, asdict(self)], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:24]

    def boundaries(self) -> list[int]:
        """Sorted instants (ms) at which what is on screen may change, from 0 to ``duration``."""
        points = {0, self.duration}
        spans = [(la.start, la.end) for la in self.layers] + [(c.start, c.end) for c in self.captions]
        for start, end in spans:
            points.update(p for p in (start, end) if 0 < p < self.duration)
        return sorted(points)

    def layer_at(self, ms: int) -> Layer | None:
        """The topmost picture at ``ms`` (later tracks paint above earlier ones)."""
        return next((la for la in reversed(self.layers) if la.start <= ms < la.end), None)

    def captions_at(self, ms: int) -> list[Caption]:
        """Captions on screen at ``ms``."""
        return [c for c in self.captions if c.start <= ms < c.end]


def even(value: float) -> int:
    """Round to an even pixel count >= 16 (H.264 4:2:0 needs even sizes)."""
    return max(16, round(value / 2) * 2)


def composition_of(
    draft: Mapping[str, Any],
    *,
    scale: float = 1.0,
    default_size: tuple[int, int] = (1920, 1080),
    default_fps: int = 30,
) -> Composition:
    """Read a draft; raise ValueError("invalid draft: ...") when it has nothing to show."""
    tracks = draft.get("t")
    if not isinstance(tracks, list) or not any(isinstance(t, dict) and t.get("sg") for t in tracks):
        raise ValueError("invalid draft: no track with segments")
    meta = draft["m"] if isinstance(draft.get("m"), dict) else {}
    width = _positive_int(meta.get("width"), default_size[0])
    height = _positive_int(meta.get("height"), default_size[1])
    fps = min(60, _positive_int(meta.get("fps"), default_fps))
    layers: list[Layer] = []
    captions: list[Caption] = []
    end = 0
    for track in tracks:
        if not isinstance(track, dict):
            continue
        for seg in track.get("sg") or []:
            if not isinstance(seg, dict):
                continue
            start = max(0, _int(seg.get("s"), 0))
            stop = start + max(0, _int(seg.get("d"), 0))
            end = max(end, stop)
            if track.get("tt") == 7 and seg.get("txt"):
                captions.append(Caption(start, stop, str(seg["txt"]), color_of(str(seg.get("sty", "")))))
            elif track.get("tt") == 0:
                layers.append(Layer(start, stop, str(seg.get("src") or ""), str(seg.get("n") or "")))
    duration = _positive_int(draft.get("d"), 0) or end
    if duration <= 0:
        raise ValueError("invalid draft: zero duration")
    duration = min(duration, MAX_DURATION_MS)
    return Composition(
        even(width * scale), even(height * scale), fps, duration, tuple(layers), tuple(captions)
    )


def color_of(style: str) -> tuple[int, int, int]:
    """The colour named first in a style string like ``"red,bold,fade-in"`` or ``"#ff8800"``; else white."""
    for part in (p.strip().lower() for p in style.split(",")):
        if part in COLORS:
            return COLORS[part]
        if len(part) == 7 and part.startswith("#"):
            try:
                return (int(part[1:3], 16), int(part[3:5], 16), int(part[5:7], 16))
            except ValueError:
                continue
    return COLORS["white"]


def _int(value: object, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return int(value)


def _positive_int(value: object, default: int) -> int:
    number = _int(value, default)
    return number if number > 0 else default
