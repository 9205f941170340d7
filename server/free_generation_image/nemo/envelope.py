"""The three response envelopes of the backend (contract §1.3) -> payload or :class:`NemoError`.

Pure: bytes in, data or an exception out. The application ``code`` is checked before the HTTP
status, because the backend may send 1001/1002/2001 under HTTP 200 or under 4xx (§1.4, a GUESS
either way). Bodies that are not JSON (an nginx HTML page, a truncated body) become a short
message: an HTML dump in an error shown to the user helps nobody.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final

from free_generation_image.config import DEFAULT_WEB_URL
from free_generation_image.nemo.errors import (
    BadResponse,
    NemoError,
    error_from,
)

MAX_MESSAGE_CHARS: Final = 300
_NOT_JSON: Final = object()


def parse_json(body: bytes) -> Any:
    """The decoded JSON value, or the ``_NOT_JSON`` sentinel for anything else (HTML, garbage, empty)."""
    if not body:
        return _NOT_JSON
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


def is_json(value: Any) -> bool:
    return value is not _NOT_JSON


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent/invalid."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def app_code(body: Mapping[str, Any]) -> int | None:
    """The envelope's ``code`` as an int (it may arrive as a numeric string); None if absent or odd."""
    code = body.get("code")
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        return int(code)
    return None


def clean_message(text: str) -> str:
    """One line, no control characters, bounded length: safe to show and to log."""
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_MESSAGE_CHARS else flat[: MAX_MESSAGE_CHARS - 1] + "…"


def _detail_text(detail: Any) -> str:
    """FastAPI's ``detail``: a string, or pydantic's list of ``{loc, msg}`` validation errors."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        items = []
        for item in detail[:3]:
            if isinstance(item, Mapping):
                loc = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
                msg = str(item.get("msg", "invalid"))
                items.append(f"{loc}: {msg}" if loc else msg)
        if items:
            return "Invalid request: " + "; ".join(items)
    return ""


def error_message(body: Mapping[str, Any]) -> str:
    """The human-readable part of an error body, whichever envelope it came in."""
    for key in ("message", "error", "msg"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, Mapping) and isinstance(value.get("message"), str):
            return str(value["message"])
    return _detail_text(body.get("detail"))


def status_text(status: int) -> str:
    """``HTTP 502 Bad Gateway``."""
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def unwrap(
    status: int,
    body: bytes,
    *,
    retry_after: float | None = None,
    user_id: str | None = None,
    web_url: str = DEFAULT_WEB_URL,
) -> Any:
    """Return the payload of a response, or raise the matching :class:`NemoError` (contract §1.3)."""
    value = parse_json(body)
    ok = 200 <= status < 300

    def fail(code: int | None, message: str) -> NemoError:
        return error_from(
            code=code,
            status=status,
            message=clean_message(message) or status_text(status),
            retry_after=retry_after,
            user_id=user_id,
            web_url=web_url,
        )

    if not isinstance(value, Mapping):
        if not ok:
            raise fail(None, status_text(status))
        if not is_json(value):
            kind = "an empty body" if not body else "a body that is not JSON"
            raise BadResponse(f"The backend answered {status_text(status)} with {kind}.", status=status)
        return value  # a raw JSON list or scalar: nothing to unwrap

    code = app_code(value)
    if not ok:
        raise fail(code if code != 0 else None, error_message(value))
    if "code" in value and code != 0:
        if code is None:
            shown = repr(value.get("code"))
            shown = shown if len(shown) <= 60 else shown[:59] + "…"  # the backend's value: any size
            raise BadResponse(f"The backend sent an unreadable code {shown}.", status=status)
        raise fail(code, error_message(value))
    if "code" in value:
        return value.get("data")
    if "success" in value:
        if value["success"] is False:
            raise fail(code, error_message(value) or "The request failed.")
        return value.get("data", value)
    return value
