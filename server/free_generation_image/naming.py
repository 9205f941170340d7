"""Names in the output dir: safe file-name stems from free text, containment checks, resource URIs."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import quote

RESOURCE_PREFIX = "fgi://output/"  # the MCP resources (and studio links) of files in the output dir
MAX_STEM_BYTES = 150  # leaves room for "-9999.jpeg.json" under the usual 255-byte name limit

_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"{dev}{n}" for dev in ("com", "lpt") for n in "0123456789¹²³"}
)
_APOSTROPHES = frozenset("'’ʼ`´")  # dropped, not turned into a separator: don't -> dont


def _stem_chars(text: str) -> str:
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        category = unicodedata.category(ch)
        if category[0] in "LN" or (category[0] == "M" and out and out[-1] != "-"):
            out.append(ch)  # letters (any script), digits, and marks that follow a letter
        elif ch in _APOSTROPHES or category[0] == "C":
            continue  # controls, format characters (RTL overrides, zero-width), surrogates, unassigned
        else:
            out.append("-")  # spaces, separators, punctuation, symbols
    return re.sub(r"-{2,}", "-", "".join(out)).strip("-")


def _truncate(stem: str, max_len: int) -> str:
    cut = stem[:max_len]
    while len(cut.encode("utf-8")) > MAX_STEM_BYTES:
        cut = cut[:-1]
    if len(cut) < len(stem) and "-" in cut[len(cut) // 2 :]:
        cut = cut[: cut.rindex("-")]  # end on a word boundary when one is near
    while cut and len(cut) < len(stem) and unicodedata.category(stem[len(cut)])[0] == "M":
        cut = cut[:-1]  # never keep a letter whose combining marks were cut off
    return unicodedata.normalize("NFC", cut.strip("-"))


def safe_stem(text: str, *, max_len: int = 60, fallback: str = "generation") -> str:
    """A file-name stem from free text: letters (incl. CJK), digits and ``-``; one safe path component.

    At most ``max_len`` characters (never less than 12) and :data:`MAX_STEM_BYTES` UTF-8 bytes; never empty.
    """
    max_len = max(max_len, 12)
    stem = _truncate(_stem_chars(text), max_len)
    if not stem:
        stem = _truncate(_stem_chars(fallback), max_len) or "generation"
    if stem.casefold() in _WINDOWS_RESERVED:  # CON, NUL, COM1... are devices on Windows, with any extension
        stem += "-file"
    return stem


def is_inside(directory: Path, path: Path) -> bool:
    """True if ``path`` resolves to something strictly inside ``directory`` (symlinks followed)."""
    try:
        root = directory.resolve()
        target = path.resolve()
    except (OSError, RuntimeError, ValueError):
        return False
    return target != root and target.is_relative_to(root)


def resource_uri_for(output_dir: Path, path: Path) -> str | None:
    """``fgi://output/<relative path>`` for files inside the output dir (what the MCP server serves)."""
    try:
        rel = path.resolve().relative_to(output_dir.resolve())
    except ValueError:
        return None
    return RESOURCE_PREFIX + quote(rel.as_posix())


__all__ = ["MAX_STEM_BYTES", "RESOURCE_PREFIX", "is_inside", "resource_uri_for", "safe_stem"]
