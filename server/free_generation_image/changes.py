"""What a turn changed in the project: lines for people, and the new generated media to save."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from free_generation_image.nemo.labels import clean_label, file_label, name_label, src_name
from free_generation_image.nemo.timeline import Draft, Track, parse_draft
from free_generation_image.nemo.timeline import as_non_negative as _non_negative
from free_generation_image.nemo.timeline import as_positive_int as _positive_int
from free_generation_image.nemo.timeline import as_text as _text
from free_generation_image.nemo.timeline import name_of as _name_of
from free_generation_image.timeline_words import body_text as _body
from free_generation_image.timeline_words import named_details as _named
from free_generation_image.timeline_words import seconds


@dataclass(frozen=True)
class StateDiff:
    """What changed between two session states, for people (``lines``) and for saving (``new_media``)."""

    changed: bool
    lines: list[str] = field(default_factory=list)
    new_media: list[dict[str, Any]] = field(default_factory=list)


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


__all__ = ["StateDiff", "diff_states"]
