"""Pure: how backend names become display labels — cleaned, one line, cut to width, never an id.

Names in a draft or state are backend text: escape sequences and control characters are removed
(``nemo.sanitize``), then the label is cut to a number of display columns (a CJK character counts
two). A name that is an id ("trk_2", a digest, a UUID, a random token), or a file named after one,
is not a name: callers fall back to the next place a name can sit, or to a type and position.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote, urlsplit

from free_generation_image.nemo.sanitize import clean_line

LABEL_WIDTH = 40  # display columns (a CJK character counts 2)


def _width(char: str) -> int:
    if unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0  # combining marks, variation selectors, joiners
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _visible(ch: str) -> bool:
    # Drop control, bidi-override and unassigned characters; keep ZWJ so emoji sequences survive.
    return ch == "\u200d" or unicodedata.category(ch)[0] != "C"


def clean_label(text: str, width: int = LABEL_WIDTH) -> str:
    """One display line: escapes, controls and bidi marks dropped, whitespace collapsed, cut to ``width``."""
    kept = " ".join(
        "".join(ch if _visible(ch) else " " if ch.isspace() else "" for ch in clean_line(text)).split()
    )
    if sum(_width(ch) for ch in kept) <= width:
        return kept
    cut, used = 0, 0
    while cut < len(kept) and used + _width(kept[cut]) <= width - 1:  # keep one column for the ellipsis
        used += _width(kept[cut])
        cut += 1
    # Never separate a letter from its combining marks, nor leave a dangling emoji joiner.
    while 0 < cut < len(kept) and (
        unicodedata.category(kept[cut]) in ("Mn", "Me") or kept[cut - 1] == "\u200d"
    ):
        cut -= 1
    return kept[:cut].rstrip() + "…"


def src_name(src: str | None) -> str | None:
    """The last path segment of a URL or path, decoded; None for inline ``data:``/``blob:`` media."""
    if not src or src[:5].lower() in ("data:", "blob:"):
        return None
    try:
        path = urlsplit(src).path if "://" in src else src
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        path = src
    name = unquote(path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1])
    return name or None


# What a machine names things: UUIDs, digests, long random tokens, timestamps, and the usual id shapes
# ("trk_2", "seg-3", "gm_1"), optionally behind a short prefix ("media_3f2a…"). A camera's "IMG_1234" is
# the person's own file name and stays.
_ID_LIKE = re.compile(
    r"(?:[a-z]{1,12}[_-])?"
    r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{12,}|\d{6,})"
    r"|(?:trk|track|seg|segment|sg|asset|gm|media|file|tmp|upload)[_-]?\d+(?:[_-]\d+)*",
    re.IGNORECASE,
)
# Random tokens (base62, nanoid) scatter digits among letters; "MyHolidayVideo2023" has one switch.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,}")
_SWITCH = re.compile(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
# A track "named" after its own type says nothing its summary line does not already say.
_GENERIC_TRACK = re.compile(
    r"(?:videos?|images?|photos?|audio|bgm|music|sound|titles?|text|captions?|subtitles?|main|clips?|media"
    r"|overlay|track|layer)(?:[\s_-]*(?:track|layer))?"
    r"|(?:视频|图片|音频|音乐|背景音乐|字幕|标题|文字|文本|主)?(?:轨道|轨|图层)|视频|图片|音频|音乐|背景音乐|字幕|标题|文字|文本",
    re.IGNORECASE,
)


def is_id(text: str, ids: frozenset[str] = frozenset()) -> bool:
    """``text`` is one of ``ids`` (casefolded) or has the shape of a machine-made id."""
    if text.casefold() in ids or _ID_LIKE.fullmatch(text) is not None:
        return True
    return _TOKEN.fullmatch(text) is not None and len(_SWITCH.findall(text)) >= 4


def name_label(name: str | None, ids: frozenset[str] = frozenset()) -> str | None:
    """``name`` as a label, or None when it is empty once cleaned or is an id."""
    shown = clean_line(name) if name else ""
    return clean_label(shown) if shown and not is_id(shown, ids) else None


def file_label(src: str | None, ids: frozenset[str] = frozenset()) -> str | None:
    """The media's own file name, unless it was made from an id (``trk_2.mp4``, ``3f2a…9c.png``)."""
    name = clean_line(src_name(src) or "")
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    return clean_label(name) if stem and not is_id(stem, ids) and not is_id(name, ids) else None


def is_generic_track_name(name: str) -> bool:
    """A track name that is only a type word ("Video", "BGM track", "视频轨道")."""
    return _GENERIC_TRACK.fullmatch(name) is not None


__all__ = [
    "LABEL_WIDTH",
    "clean_label",
    "file_label",
    "is_generic_track_name",
    "is_id",
    "name_label",
    "src_name",
]
