"""What the model reads in remote mode: the stdio wording, minus its promises about the user's own disk.

On stdio the files land on the user's computer; a hosted server keeps them on its side and hands back a
link, a preview and an owner-only resource. The tool descriptions and instructions are written once (in
``mcp_server.py`` and SKILL.md); this table rewrites the few phrases that say otherwise, on the wire, so
the stdio listing stays byte for byte what it was. ``unmatched`` lets a test notice a phrase that an edit
of the source text no longer matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

# (stdio phrase, remote phrase). Phrases match across any whitespace: descriptions are reflowed docstrings.
REWORDING: Final[tuple[tuple[str, str], ...]] = (
    # generate
    (
        "and save it on the user's computer.",
        "and keep it on this hosted server for the user: a link, a preview and a resource only they "
        "can read.",
    ),
    ("Results give the saved file paths, previews", "Results give the media links, previews"),
    # upload
    (
        "Local file path(s) or http(s) URL(s):",
        "http(s) URL(s) only (this server cannot read the user's files):",
    ),
    # export
    ("and save it locally.", "and return its link and a preview."),
    # chat
    ("upload/上传 (with a path or URL)", "upload/上传 (with an http(s) URL)"),
    # instructions (SKILL.md "How to use the tools")
    (
        "and saves the results as files on the user's computer.",
        "and returns the results as links and previews (this is a hosted server: nothing is saved on the "
        "user's computer unless they open the link).",
    ),
    ("render the project's timeline and save the file.", "render the project's timeline into a file."),
    ("(local paths or http(s) URLs)", "(http(s) URLs only; a hosted server cannot read the user's files)"),
    ("The saved file paths (and the preview image)", "The media links (and the preview image)"),
)

# Where each phrase may appear in a wire-form result: method -> keys holding model-facing text.
_TEXT_KEYS: Final = ("description", "instructions")


def _pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(r"\s+".join(re.escape(word) for word in phrase.split()))


_RULES: Final = tuple((_pattern(old), new) for old, new in REWORDING)


def reword(text: str) -> str:
    """``text`` with every stdio-only phrase replaced by its remote counterpart."""
    for pattern, new in _RULES:
        text = pattern.sub(new, text)
    return text


def unmatched(texts: Iterable[str]) -> list[str]:
    """The stdio phrases found in none of ``texts`` (a source edit the table has not followed)."""
    joined = "\n".join(texts)
    return [
        old for (old, _), (pattern, _) in zip(REWORDING, _RULES, strict=True) if not pattern.search(joined)
    ]


def _walk(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (reword(v) if k in _TEXT_KEYS and isinstance(v, str) else _walk(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_walk(v) for v in value]
    return value


async def remote_wording(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """SDK server middleware: instructions (both eras) and the tool listing in the remote wording."""
    result = await call_next(ctx)
    if ctx.method in ("initialize", "server/discover", "tools/list") and isinstance(result, dict):
        reworded: dict[str, Any] = _walk(result)
        return reworded
    return result
