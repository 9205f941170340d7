"""Pure: the compact draft (``state.draft``) as a typed model, and whether it can be exported.

Only ``t``/``tt``/``sg``/``d``/``m`` are documented (contract §5.1). The sandbox's extra keys (segment
``s``/``d``/``src``/``v``/``txt``/``sty``/``n``/``kind``, track ``id``/``n``) are used when present and
never required. Parsing is tolerant: wrong types are skipped, unknown keys ignored, nothing raises.
Words for people (summaries, what changed) live outside the backend package: ``timeline_words.py``
and ``changes.py``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

TrackKind = Literal["video", "audio", "text", "other"]

_KIND_BY_CODE: dict[int, TrackKind] = {0: "video", 1: "audio", 7: "text"}


@dataclass(frozen=True)
class Segment:
    """One clip. Times in milliseconds; every field may be missing on a real backend."""

    id: str | None = None
    start_ms: float | None = None
    duration_ms: float | None = None
    src: str | None = None
    volume: float | None = None
    text: str | None = None
    style: str | None = None
    label: str | None = None
    kind: str | None = None

    @property
    def end_ms(self) -> float | None:
        if self.start_ms is None or self.duration_ms is None:
            return None
        return self.start_ms + self.duration_ms


@dataclass(frozen=True)
class Track:
    """One track: ``tt`` code, optional id/name, its segments with start times filled in where inferable."""

    code: int | None
    segments: tuple[Segment, ...] = ()
    id: str | None = None
    name: str | None = None
    # 1-based place in the draft's track list; derived, so two tracks alike but for it compare equal.
    position: int | None = field(default=None, compare=False)

    @property
    def kind(self) -> TrackKind:
        return _KIND_BY_CODE.get(self.code, "other") if self.code is not None else "other"

    @property
    def title(self) -> str:
        """What users call this track: Video / Image / BGM / Title / track <tt>."""
        if self.kind == "video":
            kinds = {s.kind for s in self.segments}
            return "Image" if kinds == {"image"} else "Video"
        if self.kind == "audio":
            return "BGM"
        if self.kind == "text":
            return "Title"
        return f"track {self.code}" if self.code is not None else "track"

    @property
    def type_name(self) -> str:
        """The track's type for a nameless track's label: Video / Image / Audio / Text / Track."""
        if self.kind == "video":
            return self.title
        return {"audio": "Audio", "text": "Text"}.get(self.kind, "Track")

    @property
    def place(self) -> str:
        """A nameless track's label: its type and position, ``Video track 2`` (``Track 3``: type unknown)."""
        kind = self.type_name
        noun = kind if kind == "Track" else f"{kind} track"
        return f"{noun} {self.position}" if self.position is not None else noun

    @property
    def span_ms(self) -> tuple[float | None, float | None]:
        """(first start, last end) over segments; None where unknown."""
        starts = [s.start_ms for s in self.segments if s.start_ms is not None]
        ends = [e for e in (s.end_ms for s in self.segments) if e is not None]
        return (min(starts) if starts else None, max(ends) if ends else None)


@dataclass(frozen=True)
class Draft:
    """The compact timeline draft: tracks, total duration (``d``, ms) and metadata (``m``)."""

    tracks: tuple[Track, ...] = ()
    duration_ms: float | None = None
    title: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None

    @property
    def filled_tracks(self) -> tuple[Track, ...]:
        return tuple(t for t in self.tracks if t.segments)

    @property
    def total_ms(self) -> float | None:
        """``d`` if the backend gave it, else the latest segment end."""
        if self.duration_ms is not None:
            return self.duration_ms
        ends = [end for t in self.tracks if (end := t.span_ms[1]) is not None]
        return max(ends) if ends else None


# ----------------------------------------------------------------------------------------- parsing


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # a JSON integer beyond float range is garbage here
            return None
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def as_non_negative(value: object) -> float | None:
    number = _number(value)
    return number if number is not None and number >= 0 else None


def _integer(value: object) -> int | None:
    number = _number(value)
    if number is None or not number.is_integer() or abs(number) > 2**31:
        return None
    return int(number)


def as_positive_int(value: object) -> int | None:
    number = _integer(value)
    return number if number is not None and number > 0 else None


def as_text(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value) if _number(value) is not None else None
    if isinstance(value, str):
        return value.strip() or None
    return None


# Where a track or segment may carry its name: the sandbox's ``n``, the usual spellings, then the same keys
# inside its metadata (``m`` is the compact draft's metadata key, contract §5.1; ``meta``/``metadata`` seen
# in other NemoVideo drafts are read too).
_NAME_KEYS = ("n", "name", "title", "label")
_META_KEYS = ("m", "meta", "metadata")


def name_of(raw: Mapping[str, Any]) -> str | None:
    """The first name the object gives itself, directly or in its metadata."""
    for key in _NAME_KEYS:
        if name := as_text(raw.get(key)):
            return name
    for meta_key in _META_KEYS:
        meta = raw.get(meta_key)
        if isinstance(meta, Mapping):
            for key in _NAME_KEYS:
                if name := as_text(meta.get(key)):
                    return name
    return None


def _parse_segment(raw: Mapping[str, Any], previous_end: float | None) -> Segment:
    start = as_non_negative(raw.get("s"))
    if start is None:
        # GUESS: without a start, clips on one track play back to back (the only layout a start-less
        # list can express); the first one starts at 0.
        start = previous_end
    volume = as_non_negative(raw.get("v"))
    return Segment(
        id=as_text(raw.get("id")),
        start_ms=start,
        duration_ms=as_non_negative(raw.get("d")),
        src=as_text(raw.get("src")),
        volume=volume,
        text=as_text(raw.get("txt")),
        style=as_text(raw.get("sty")),
        label=name_of(raw),
        kind=(as_text(raw.get("kind")) or "").lower() or None,
    )


def _parse_track(raw: Mapping[str, Any], position: int) -> Track:
    segments: list[Segment] = []
    previous_end: float | None = 0.0
    raw_segments = raw.get("sg")
    if isinstance(raw_segments, list):
        for item in raw_segments:
            if isinstance(item, Mapping):
                segment = _parse_segment(item, previous_end)
                segments.append(segment)
                previous_end = segment.end_ms
    return Track(
        code=_integer(raw.get("tt")),
        segments=tuple(segments),
        id=as_text(raw.get("id")),
        name=name_of(raw),
        position=position,
    )


def parse_draft(raw: object) -> Draft | None:
    """The draft as a :class:`Draft`, or None when ``raw`` is not a draft object. Never raises."""
    if isinstance(raw, str | bytes):
        # Some gateways hand nested JSON over as a string; accept that too.
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            return None
    if not isinstance(raw, Mapping):
        return None
    tracks_raw = raw.get("t")
    raw_tracks = [t for t in tracks_raw if isinstance(t, Mapping)] if isinstance(tracks_raw, list) else []
    tracks = tuple(_parse_track(t, position) for position, t in enumerate(raw_tracks, start=1))
    meta = raw.get("m")
    meta = meta if isinstance(meta, Mapping) else {}
    return Draft(
        tracks=tracks,
        duration_ms=as_non_negative(raw.get("d")),
        title=as_text(meta.get("title")),
        width=as_positive_int(meta.get("width")),
        height=as_positive_int(meta.get("height")),
        fps=as_non_negative(meta.get("fps")),
    )


def is_ready(draft: Draft | Mapping[str, Any] | None) -> bool:
    """The skill's export readiness rule: ``t`` present with at least one track whose ``sg`` is non-empty."""
    if isinstance(draft, Mapping):
        tracks = draft.get("t")
        return isinstance(tracks, list) and any(
            isinstance(t, Mapping) and isinstance(t.get("sg"), list) and bool(t["sg"]) for t in tracks
        )
    return draft is not None and bool(draft.filled_tracks)


__all__ = [
    "Draft",
    "Segment",
    "Track",
    "TrackKind",
    "as_non_negative",
    "as_positive_int",
    "as_text",
    "is_ready",
    "name_of",
    "parse_draft",
]
