"""Pure checks of what callers pass in: each refusal names the argument and what is allowed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from free_generation_image.errors import InvalidInput
from free_generation_image.nemo.sanitize import clean
from free_generation_image.nemo.upload import check_file, check_urls, is_text

MAX_PROMPT_CHARS = 8000
MAX_WAIT_SECONDS = 600.0
MIN_DURATION_S, MAX_DURATION_S = 1.0, 60.0


def check_prompt(prompt: object, argument: str = "prompt") -> str:
    """The prompt, stripped; refused when empty, not text, or too long."""
    if not isinstance(prompt, str):
        raise InvalidInput("The prompt must be text.", argument=argument)
    if not is_text(prompt):  # undecodable argv bytes arrive as lone surrogates
        raise InvalidInput(
            "The prompt contains bytes that are not text.",
            hint="Type or paste it again as plain text.",
            argument=argument,
        )
    # Terminal escapes, controls and bidi overrides mean nothing to the agent and would come back in
    # every echo of the prompt (job lists, file names, replies): they go before anything else.
    text = clean(prompt).strip()
    if not text:
        raise InvalidInput(
            "The prompt is empty.", hint="Describe the image or video to make.", argument=argument
        )
    if len(text) > MAX_PROMPT_CHARS:
        raise InvalidInput(
            f"The prompt is too long ({len(text)} characters; the limit is {MAX_PROMPT_CHARS}).",
            hint="Shorten it to the essentials.",
            argument=argument,
        )
    return text


def check_duration(duration_s: float | None) -> float | None:
    """A video length in seconds within the allowed range, or None."""
    if duration_s is None:
        return None
    if (
        isinstance(duration_s, bool)
        or not isinstance(duration_s, int | float)
        or not math.isfinite(duration_s)
        or not MIN_DURATION_S <= duration_s <= MAX_DURATION_S
    ):
        shown = f"{duration_s:g}" if isinstance(duration_s, int | float) else repr(duration_s)
        raise InvalidInput(
            f"duration_s must be a number of seconds from {MIN_DURATION_S:g} to {MAX_DURATION_S:g}; "
            f"got {shown}.",
            hint="Leave it out to let the backend choose.",
            argument="duration_s",
        )
    return float(duration_s)


def bounded_wait(seconds: float) -> float:
    """A wait in seconds, clamped to [0, MAX_WAIT_SECONDS]; NaN counts as 0."""
    if seconds != seconds or seconds < 0:
        return 0.0
    return min(float(seconds), MAX_WAIT_SECONDS)


def split_sources(sources: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Local paths (checked: exist, type, size) and http(s) URLs; refused before any request."""
    items = [s.strip() for s in sources if isinstance(s, str) and s.strip()]
    if not items:
        raise InvalidInput(
            "Nothing to upload.", hint="Pass one or more local file paths or http(s) URLs.", argument="source"
        )
    urls = [s for s in items if s.lower().startswith(("http://", "https://"))]
    paths: list[Path] = []
    for source in items:
        if source in urls:
            continue
        if "://" in source:
            raise InvalidInput(
                f"Unsupported URL scheme in {source!r}.",
                hint="Only http(s) URLs can be uploaded.",
                argument="source",
            )
        paths.append(check_file(Path(source).expanduser()).path)
    return paths, check_urls(urls) if urls else []


__all__ = [
    "MAX_PROMPT_CHARS",
    "MAX_WAIT_SECONDS",
    "bounded_wait",
    "check_duration",
    "check_prompt",
    "split_sources",
]
