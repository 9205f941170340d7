"""The timeline in words: its one-line summary and each track's description.

Labels say only what the draft says, in this order: the segment's own name (``n``/``name``/``title``/
``label``, or the same keys in its metadata ``m``), the text of a title segment, the track's name (same
keys, a bare type word such as "Video" does not count), the media's own file name (from its URL path).
Ids are never shown, nor file names made of one. A track with no name at all is its type and position in
the draft: "Video track 2". Every label is backend text: cleaned of escapes and controls, one line, cut.
"""

from __future__ import annotations

from free_generation_image.nemo.labels import clean_label, file_label, is_generic_track_name, name_label
from free_generation_image.nemo.timeline import Draft, Segment, Track

EMPTY_SUMMARY = "Timeline is empty: nothing generated yet."


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


def named_details(track: Track) -> tuple[str | None, list[str]]:
    """The track's label with its "(+N more)" count, or None when nameless; and its details."""
    label, per_segment = _track_label(track)
    if label is not None and per_segment and len(track.segments) > 1:
        label += f" (+{len(track.segments) - 1} more)"
    return label, _details(track, counted=label is not None and per_segment)


def body_text(track: Track, label: str | None, details: list[str]) -> str:
    shown = label if label is not None else track.place if track.segments else "(empty)"
    return f"{shown} ({', '.join(details)})" if details else shown


def track_body(track: Track) -> str:
    """A track without its kind: ``Lo-fi (0-10s, 35%)``; nameless, by its place: ``Video track 2 (0-10s)``."""
    return body_text(track, *named_details(track))


def describe_track(track: Track) -> str:
    """``BGM: Lo-fi (0-10s, 35%)``, or ``Video track 2 (0-10s)`` when the draft names nothing in it."""
    label, details = named_details(track)
    body = body_text(track, label, details)
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


__all__ = [
    "EMPTY_SUMMARY",
    "body_text",
    "describe_track",
    "named_details",
    "seconds",
    "summarize",
    "track_body",
]
