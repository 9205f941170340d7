"""Pure: backend text made safe to print or return (no terminal escapes, control or bidi characters).

Backend text (agent replies, error messages, names in a draft) may carry escape sequences that retitle
or clear a terminal, or bidi overrides that make text read differently from what it is. Each piece of
text is cleaned on its own, so a sequence cut across two stream chunks loses its introducer in the first
and leaves only harmless printable text in the second: no ESC ever survives a concatenation.
"""

from __future__ import annotations

import re

# ESC-introduced sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), DCS/SOS/PM/APC strings
# (ESC P/X/^/_ ... ESC \), and two-byte escapes. Their 8-bit C1 forms are matched too. A string that is
# never terminated ends at the line's end: a terminal would swallow the rest, but here the rest of a
# reply is worth keeping.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c\n]*(?:\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
# C0 controls except tab and newline, DEL, C1 controls, the bidi marks, embeddings, overrides and isolates
# that can make text read differently from what it is (Trojan Source), and lone surrogates (JSON can
# carry them; printing one raises UnicodeEncodeError).
_CONTROLS = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def clean(text: str) -> str:
    """``text`` without escape sequences and control characters; newlines and tabs are kept, CR becomes LF."""
    # The common case costs one scan and no copy: isprintable() is False for every character removed
    # here (all are Cc, Cf or Cs), so a printable text is already clean; a newline sends it to the regex.
    if not text or text.isprintable() or _CONTROLS.search(text) is None:
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def clean_line(text: str) -> str:
    """``clean`` for one-line labels (names, progress): every whitespace run, newlines too, is one space."""
    return " ".join(clean(text).split())


__all__ = ["clean", "clean_line"]
