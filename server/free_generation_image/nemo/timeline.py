"""Pure: the compact draft (``state.draft``) as a typed model, its one-line summary, readiness, state diffs.

Only ``t``/``tt``/``sg``/``d``/``m`` are documented (contract §5.1). The sandbox's extra keys (segment
``s``/``d``/``src``/``v``/``txt``/``sty``/``n``/``kind``, track ``id``/``n``) are used when present and
never required. Parsing is tolerant: wrong types are skipped, unknown keys ignored, nothing raises.

Labels say only what the draft says, in this order: the segment's own name (``n``/``name``/``title``/
``label``, or the same keys in its metadata ``m``), the text of a title segment, the track's name (same
keys, a bare type word such as "Video" does not count), the media's own file name (from its URL path).
Ids are never shown, nor file names made of one. A track with no name at all is its type and position in
the draft: "Video track 2". Every label is backend text: cleaned of escapes and controls, one line, cut.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from free_generation_image.nemo.labels import (
    LABEL_WIDTH,
    clean_label,
    file_label,
    is_generic_track_name,
    name_label,
    src_name,
)

TrackKind = Literal["video", "audio", "text", "other"]

EMPTY_SUMMARY = "Timeline is empty: nothing generated yet."

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


@dataclass(frozen=True)
class StateDiff:
    """What changed between two session states, for people (``lines``) and for saving (``new_media``)."""

    changed: bool
    lines: list[str] = field(default_factory=list)
    new_media: list[dict[str, Any]] = field(default_factory=list)


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


def _non_negative(value: object) -> float | None:
    number = _number(value)
    return number if number is not None and number >= 0 else None


def _integer(value: object) -> int | None:
    number = _number(value)
    if number is None or not number.is_integer() or abs(number) > 2**31:
        return None
    return int(number)


def _positive_int(value: object) -> int | None:
    number = _integer(value)
    return number if number is not None and number > 0 else None


def _text(value: object) -> str | None:
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


def _name_of(raw: Mapping[str, Any]) -> str | None:
    """The first name the object gives itself, directly or in its metadata."""
    for key in _NAME_KEYS:
        if name := _text(raw.get(key)):
            return name
    for meta_key in _META_KEYS:
        meta = raw.get(meta_key)
        if isinstance(meta, Mapping):
            for key in _NAME_KEYS:
                if name := _text(meta.get(key)):
                    return name
    return None


def _parse_segment(raw: Mapping[str, Any], previous_end: float | None) -> Segment:
    start = _non_negative(raw.get("s"))
    if start is None:
        # GUESS: without a start, clips on one track play back to back (the only layout a start-less
        # list can express); the first one starts at 0.
        start = previous_end
    volume = _non_negative(raw.get("v"))
    return Segment(
        id=_text(raw.get("id")),
        start_ms=start,
        duration_ms=_non_negative(raw.get("d")),
        src=_text(raw.get("src")),
        volume=volume,
        text=_text(raw.get("txt")),
        style=_text(raw.get("sty")),
        label=_name_of(raw),
        kind=(_text(raw.get("kind")) or "").lower() or None,
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
        id=_text(raw.get("id")),
        name=_name_of(raw),
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
        duration_ms=_non_negative(raw.get("d")),
        title=_text(meta.get("title")),
        width=_positive_int(meta.get("width")),
        height=_positive_int(meta.get("height")),
        fps=_non_negative(meta.get("fps")),
    )


def is_ready(draft: Draft | Mapping[str, Any] | None) -> bool:
    """The skill's export readiness rule: ``t`` present with at least one track whose ``sg`` is non-empty."""
    if isinstance(draft, Mapping):
        tracks = draft.get("t")
        return isinstance(tracks, list) and any(
            isinstance(t, Mapping) and isinstance(t.get("sg"), list) and bool(t["sg"]) for t in tracks
        )
    return draft is not None and bool(draft.filled_tracks)


# ------------------------------------------------------------------------------------- formatting


def seconds(ms: float) -> str:
    """Milliseconds as trimmed seconds without unit: 10000 -> '10', 2500 -> '2.5', 3333 -> '3.3'."""
    text = f"{ms / 1000:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _ids(track: Track) -> frozenset[str]:
    return frozenset(i.casefold() for i in (track.id, *(s.id for s in track.segments)) if i)


def _segment_name(segment: Segment, track: Track, ids: frozenset[str]) -> str | None:
    """The segment's own name or, on a title track first, its text (quoted: it is what shows on screen)."""
    own = name_label(segment.label, ids)
    text = clean_label(segment.text) if segment.text else ""
    quoted = f"'{text}'" if text else None
    return (quoted or own) if track.kind == "text" else (own or quoted)


def _track_label(track: Track) -> tuple[str | None, bool]:
    """(label, whether it names one segment) from what the draft says; (None, False) when nothing does."""
    ids = _ids(track)
    for segment in track.segments:
        if name := _segment_name(segment, track, ids):
            return name, True
    name = name_label(track.name, ids)
    if name and not is_generic_track_name(name):
        return name, False
    for segment in track.segments:
        if name := file_label(segment.src, ids):
            return name, True
    return None, False


def _volume_text(track: Track) -> str | None:
    # ARCHITECTURE says 0..1; GUESS: a value above 1 is already a percentage.
    values = sorted({round(v * 100 if v <= 1 else v) for s in track.segments if (v := s.volume) is not None})
    if not values:
        return None
    return f"{values[0]}%" if len(values) == 1 else f"{values[0]}-{values[-1]}%"


def _span_text(track: Track) -> str | None:
    start, end = track.span_ms
    if start is None:
        return None
    return (
        f"{seconds(start)}-{seconds(end)}s" if end is not None and end >= start else f"from {seconds(start)}s"
    )


def _details(track: Track, counted: bool) -> list[str]:
    """Span, volume, title style; the number of segments when the label does not already count them."""
    details = [d for d in (_span_text(track),) if d]
    if not counted and len(track.segments) > 1:
        details.append(f"{len(track.segments)} {'titles' if track.kind == 'text' else 'clips'}")
    if track.kind == "audio" and (volume := _volume_text(track)):
        details.append(volume)
    if track.kind == "text":
        styles = [s.style for s in track.segments if s.style]
        if styles and (style := clean_label(styles[0])):
            details.append(style)
    return details


def _named(track: Track) -> tuple[str | None, list[str]]:
    """The track's label with its "(+N more)" count, or None when nameless; and its details."""
    label, per_segment = _track_label(track)
    if label is not None and per_segment and len(track.segments) > 1:
        label += f" (+{len(track.segments) - 1} more)"
    return label, _details(track, counted=label is not None and per_segment)


def _body(track: Track, label: str | None, details: list[str]) -> str:
    shown = label if label is not None else track.place if track.segments else "(empty)"
    return f"{shown} ({', '.join(details)})" if details else shown


def track_body(track: Track) -> str:
    """A track without its kind: ``Lo-fi (0-10s, 35%)``; nameless, by its place: ``Video track 2 (0-10s)``."""
    return _body(track, *_named(track))


def describe_track(track: Track) -> str:
    """``BGM: Lo-fi (0-10s, 35%)``, or ``Video track 2 (0-10s)`` when the draft names nothing in it."""
    label, details = _named(track)
    body = _body(track, label, details)
    return f"{track.title}: {body}" if label is not None else body


def summarize(draft: Draft | None) -> str:
    """The one-line display summary: ``Timeline (3 tracks, 10s): 1. Video: … 2. BGM: … 3. Title: …``."""
    tracks = draft.filled_tracks if draft is not None else ()
    if draft is None or not tracks:
        return EMPTY_SUMMARY
    head = f"{len(tracks)} track{'s' if len(tracks) != 1 else ''}"
    total = draft.total_ms
    if total is not None:
        head += f", {seconds(total)}s"
    items = " ".join(f"{i}. {describe_track(t)}" for i, t in enumerate(tracks, start=1))
    return f"Timeline ({head}): {items}"


# ------------------------------------------------------------------------------------------- diff


def _canvas(state: Mapping[str, Any], draft: Draft | None) -> str | None:
    config = state.get("canvas_config")
    if isinstance(config, Mapping):
        width, height = _positive_int(config.get("width")), _positive_int(config.get("height"))
        if width and height:
            return f"{width}x{height}"
        ratio = _text(config.get("ratio")) or _text(config.get("aspect_ratio"))
        if ratio:
            return clean_label(ratio, 12)
    if draft is not None and draft.width and draft.height:
        return f"{draft.width}x{draft.height}"
    return None


def _track_keys(draft: Draft | None) -> dict[str, Track]:
    """Tracks keyed by id, else by (tt, n-th track of that tt): stable across edits that append tracks."""
    keyed: dict[str, Track] = {}
    seen: dict[int | None, int] = {}
    for track in draft.filled_tracks if draft is not None else ():
        ordinal = seen.get(track.code, 0)
        seen[track.code] = ordinal + 1
        key = f"id:{track.id}" if track.id else f"tt:{track.code}#{ordinal}"
        while key in keyed:
            key += "'"
        keyed[key] = track
    return keyed


def _track_noun(track: Track) -> str:
    # "Added track BGM: ..." reads well; "Added track track 3: ..." does not.
    return track.title if track.kind == "other" else f"track {track.title}"


def _added_or_removed(verb: str, track: Track) -> str:
    label, details = _named(track)
    # A nameless track's body starts with its place: "Added Video track 2 (0-10s)".
    body = _body(track, label, details)
    return f"{verb} {_track_noun(track)}: {body}" if label is not None else f"{verb} {body}"


def _change_line(old: Track, new: Track) -> str | None:
    """``Changed …`` when what people see of a track changed. Two nameless tracks compare their details
    alone: their place heads the line, and a place that moved because another track came or went is not
    a change of this one."""
    (old_label, old_details), (new_label, new_details) = _named(old), _named(new)
    if old_label is None and new_label is None:
        was, now = ", ".join(old_details) or "(empty)", ", ".join(new_details) or "(empty)"
    else:
        was, now = _body(old, old_label, old_details), _body(new, new_label, new_details)
    if was == now and old.title == new.title:
        return None
    heading = _track_noun(new) if new_label is not None else new.place
    return f"Changed {heading}: {was} → {now}"


def _track_lines(before: Draft | None, after: Draft | None) -> list[str]:
    old, new = _track_keys(before), _track_keys(after)
    lines: list[str] = []
    for key, track in new.items():
        if key not in old:
            lines.append(_added_or_removed("Added", track))
        elif line := _change_line(old[key], track):
            lines.append(line)
    lines += [_added_or_removed("Removed", t) for k, t in old.items() if k not in new]
    return lines


def _entries(value: object) -> list[Mapping[str, Any]]:
    return [e for e in value if isinstance(e, Mapping)] if isinstance(value, list) else []


def _canonical(entry: Mapping[str, Any]) -> str:
    try:
        return json.dumps(entry, sort_keys=True, default=repr)
    except (TypeError, ValueError, RecursionError):
        return repr(entry)


def _media_key(entry: Mapping[str, Any]) -> str:
    for name in ("id", "url", "cdn_url"):
        value = _text(entry.get(name))
        if value:
            return f"{name}:{value}"
    return f"raw:{_canonical(entry)}"


def _media_line(verb: str, entry: Mapping[str, Any]) -> str:
    kind = (_text(entry.get("type")) or _text(entry.get("file_type")) or "media").lower()
    ids = frozenset(i.casefold() for i in (_text(entry.get("id")),) if i)
    # What the person asked for, else a name the entry gives itself, else the file's own name; never an id.
    label = (
        name_label(_text(entry.get("prompt")), frozenset())
        or name_label(_name_of(entry), ids)
        or file_label(_text(entry.get("url")) or _text(entry.get("cdn_url")), ids)
        or file_label(_text(entry.get("filename")), ids)
    )
    details: list[str] = []
    duration = _non_negative(entry.get("duration"))
    if duration is not None:
        details.append(f"{seconds(duration * 1000)}s")
    width, height = _positive_int(entry.get("width")), _positive_int(entry.get("height"))
    if width and height:
        details.append(f"{width}x{height}")
    tail = f" ({', '.join(details)})" if details else ""
    return (
        f"{verb} {clean_label(kind, 12)}: {label}{tail}" if label else f"{verb} {clean_label(kind, 12)}{tail}"
    )


def _upload_key(entry: Mapping[str, Any]) -> str | None:
    for name in ("cdn_url", "url", "filename", "id"):
        value = _text(entry.get(name))
        if value:
            return value
    return None


def _upload_line(entry: Mapping[str, Any]) -> str:
    name = (
        _text(entry.get("filename"))
        or src_name(_text(entry.get("cdn_url")) or _text(entry.get("url")))
        or "file"
    )
    details = [clean_label(t, 12) for t in (_text(entry.get("file_type")),) if t]
    duration = _non_negative(entry.get("duration"))
    if duration is not None:
        details.append(f"{seconds(duration * 1000)}s")
    tail = f" ({', '.join(details)})" if details else ""
    return f"New upload: {clean_label(name)}{tail}"


def _same(a: object, b: object) -> bool:
    if a is b:
        return True
    try:
        if a == b:
            return True
        # Equal JSON can still compare unequal in Python (NaN != NaN): compare the serialised form.
        return json.dumps(a, sort_keys=True, default=repr) == json.dumps(b, sort_keys=True, default=repr)
    except (TypeError, ValueError, RecursionError):
        return False


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _canvas_lines(
    old: Mapping[str, Any], new: Mapping[str, Any], old_draft: Draft | None, new_draft: Draft | None
) -> list[str]:
    was, now = _canvas(old, old_draft), _canvas(new, new_draft)
    if now and was != now:
        return [f"Canvas {was} → {now}" if was else f"Canvas {now}"]
    if "canvas_config" in new and not _same(old.get("canvas_config"), new.get("canvas_config")):
        return ["Canvas settings updated"]
    return []


def _draft_lines(old_raw: object, new_raw: object, old: Draft | None, new: Draft | None) -> list[str]:
    lines: list[str] = []
    was, now = (old.total_ms if old else None), (new.total_ms if new else None)
    if now is not None and was != now:
        lines.append(
            f"Duration {seconds(was)}s → {seconds(now)}s" if was is not None else f"Duration {seconds(now)}s"
        )
    old_title, new_title = (old.title if old else None), (new.title if new else None)
    if new_title and old_title != new_title:
        lines.append(
            f"Project name '{clean_label(old_title)}' → '{clean_label(new_title)}'"
            if old_title
            else f"Project name '{clean_label(new_title)}'"
        )
    lines.extend(_track_lines(old, new))
    if not lines and not _same(old_raw, new_raw):
        # The draft changed in a way the summary does not show (a source URL, a segment id...).
        lines.append("Timeline updated")
    return lines


def _media_changes(old: object, new: object) -> tuple[list[str], list[dict[str, Any]]]:
    """Lines for generated media added/removed, and the added entries (by id, else URL), in order."""
    before = {_media_key(e) for e in _entries(old)}
    after: set[str] = set()
    lines: list[str] = []
    added: list[dict[str, Any]] = []
    for entry in _entries(new):
        key = _media_key(entry)
        if key not in before and key not in after:
            added.append(dict(entry))
            lines.append(_media_line("New", entry))
        after.add(key)
    for entry in _entries(old):
        key = _media_key(entry)
        if key not in after:
            after.add(key)  # report each removed entry once
            lines.append(_media_line("Removed", entry))
    return lines, added


def _upload_lines(old: object, new: object, skip_urls: set[str]) -> list[str]:
    # video_infos also lists generated clips: those are already reported as new media.
    seen = {_upload_key(e) for e in _entries(old)} | skip_urls
    lines: list[str] = []
    for entry in _entries(new):
        key = _upload_key(entry)
        if key is not None and key not in seen:
            seen.add(key)
            lines.append(_upload_line(entry))
    return lines


_DESCRIBED = frozenset({"canvas_config", "draft", "generated_media", "video_infos"})


def diff_states(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> StateDiff:
    """Compare two raw session states (``data.state``); deterministic lines and the new generated media."""
    old, new = _mapping(before), _mapping(after)
    old_draft, new_draft = parse_draft(old.get("draft")), parse_draft(new.get("draft"))
    lines = _canvas_lines(old, new, old_draft, new_draft)
    lines += _draft_lines(old.get("draft"), new.get("draft"), old_draft, new_draft)
    media_lines, new_media = _media_changes(old.get("generated_media"), new.get("generated_media"))
    lines += media_lines
    urls = {u for e in new_media for u in (_text(e.get("url")), _text(e.get("cdn_url"))) if u}
    lines += _upload_lines(old.get("video_infos"), new.get("video_infos"), urls)
    others = sorted(k for k in set(old) | set(new) if isinstance(k, str) and k not in _DESCRIBED)
    lines += [f"Updated {clean_label(k)}" for k in others if not _same(old.get(k), new.get(k))]
    changed = not _same(dict(old), dict(new))
    if changed and not lines:
        lines.append("Project state updated")
    return StateDiff(changed=changed, lines=lines, new_media=new_media)


__all__ = [
    "EMPTY_SUMMARY",
    "LABEL_WIDTH",
    "Draft",
    "Segment",
    "StateDiff",
    "Track",
    "TrackKind",
    "clean_label",
    "describe_track",
    "diff_states",
    "is_ready",
    "parse_draft",
    "seconds",
    "summarize",
    "track_body",
]
