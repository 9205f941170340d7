"""Typed results of the backend calls, and the pure parsers that build them from JSON payloads.

Parsers are lenient where the contract is unsure (numbers as strings, two spellings, fields in
two places) and strict only where nothing sensible could be returned (no session id, no render
status): those raise :class:`BadResponse`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from free_generation_image.nemo.errors import BadResponse

log = logging.getLogger(__name__)

RenderState = Literal["pending", "processing", "completed", "failed", "cancelled"]
TERMINAL_RENDER_STATES: Final[frozenset[str]] = frozenset({"completed", "failed", "cancelled"})

_RENDER_STATES: Final[Mapping[str, RenderState]] = {
    "pending": "pending",
    "queued": "pending",
    "submitted": "pending",
    "created": "pending",
    "processing": "processing",
    "running": "processing",
    "rendering": "processing",
    "in_progress": "processing",
    "completed": "completed",
    "complete": "completed",
    "succeeded": "completed",
    "success": "completed",
    "done": "completed",
    "failed": "failed",
    "error": "failed",
    "timed_out": "failed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
}


@dataclass(frozen=True)
class TokenInfo:
    """Who we are talking as. The token itself is deliberately not here."""

    user_id: str | None
    anonymous: bool
    expires_at: float | None  # epoch seconds; None when unknown (NEMO_TOKEN)


@dataclass(frozen=True)
class SessionInfo:
    """A backend project ("task") and its agent session."""

    task_id: str
    session_id: str
    user_id: str | None = None

    @classmethod
    def from_data(cls, data: Any) -> SessionInfo:
        """Build from the ``data`` of ``POST /api/tasks/me/with-session/nemo_agent`` (§2.2)."""
        if not isinstance(data, Mapping) or _text(data.get("session_id")) is None:
            raise BadResponse("The backend created a project but sent no session id.")
        return cls(
            task_id=_text(data.get("task_id")) or "",
            session_id=str(_text(data.get("session_id"))),
            user_id=_text(data.get("user_id")),
        )


@dataclass(frozen=True)
class Credits:
    """Credit balance; ``frozen`` is reserved by work in progress, ``total = available + frozen``."""

    available: int
    frozen: int
    total: int

    @classmethod
    def from_data(cls, data: Any) -> Credits:
        """Build from the ``data`` of ``GET /api/credits/balance/simple`` (§2.6)."""
        available = _number(data.get("available")) if isinstance(data, Mapping) else None
        if available is None:
            raise BadResponse("The backend sent a credit balance without 'available'.")
        frozen = _number(data.get("frozen")) or 0.0
        total = _number(data.get("total"))
        return cls(int(available), int(frozen), int(total if total is not None else available + frozen))


@dataclass(frozen=True)
class SessionState:
    """The session state (§2.7). ``raw`` is ``data.state`` as sent; the properties never raise."""

    raw: dict[str, Any]
    task_name: str | None = None
    session_id: str | None = None
    task_id: str | None = None

    @classmethod
    def from_data(cls, data: Any) -> SessionState:
        """Build from the ``data`` of ``GET /api/state/nemo_agent/me/{sid}/latest``."""
        if not isinstance(data, Mapping):
            raise BadResponse("The backend sent a project state that is not an object.")
        state = data.get("state")
        if not isinstance(state, Mapping):
            # Tolerate the state keys one level up (the CLI back end reads a top-level draft).
            state = {k: v for k, v in data.items() if k not in ("session_id", "task_id", "task_name")}
        return cls(
            raw=dict(state),
            task_name=_text(data.get("task_name")),
            session_id=_text(data.get("session_id")),
            task_id=_text(data.get("task_id")),
        )

    @property
    def draft(self) -> dict[str, Any] | None:
        """The timeline draft, or None before anything was generated."""
        draft = self.raw.get("draft")
        return dict(draft) if isinstance(draft, Mapping) and draft else None

    @property
    def generated_media(self) -> list[dict[str, Any]]:
        return _dicts(self.raw.get("generated_media"))

    @property
    def video_infos(self) -> list[dict[str, Any]]:
        return _dicts(self.raw.get("video_infos"))

    @property
    def canvas(self) -> dict[str, Any]:
        canvas = self.raw.get("canvas_config")
        return dict(canvas) if isinstance(canvas, Mapping) else {}


@dataclass(frozen=True)
class UploadedFile:
    """One file the backend accepted (§2.5); ``duration`` is in seconds."""

    filename: str
    file_type: str | None = None
    cdn_url: str | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> UploadedFile:
        width, height = _number(item.get("width")), _number(item.get("height"))
        return cls(
            filename=_text(item.get("filename")) or _text(item.get("name")) or "",
            file_type=_text(item.get("file_type")),
            cdn_url=_text(item.get("cdn_url")) or _text(item.get("url")),
            duration=_number(item.get("duration")),
            width=int(width) if width is not None else None,
            height=int(height) if height is not None else None,
            fps=_number(item.get("fps")),
            raw=dict(item),
        )


def uploaded_files(data: Any) -> list[UploadedFile]:
    """The ``files`` of an upload answer; a bare list is accepted too."""
    items = data.get("files") if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise BadResponse("The backend accepted the upload but listed no files.")
    return [UploadedFile.from_item(item) for item in items if isinstance(item, Mapping)]


@dataclass(frozen=True)
class RenderStatus:
    """Where a render stands; ``progress`` is 0–100, ``completed_at`` epoch seconds."""

    id: str
    status: RenderState
    progress: float = 0.0
    url: str | None = None
    error: str | None = None
    completed_at: float | None = None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_RENDER_STATES


def parse_render(body: Any, *, render_id: str) -> RenderStatus:
    """Read a render answer in any of its shapes (§6.2): ``data.x ?? x``, URL in four places.

    ``body`` is the whole JSON body (not unwrapped): the top-level copy matters for the shape
    that mirrors ``status`` and ``output.url`` beside ``data``. ``render_id`` fills a missing id.
    """
    if not isinstance(body, Mapping):
        raise BadResponse("The backend sent a render status that is not an object.")
    data: Mapping[str, Any] = body["data"] if isinstance(body.get("data"), Mapping) else {}

    def pick(*keys: str, where: tuple[Mapping[str, Any], ...] = (data, body)) -> Any:
        for obj in where:
            for key in keys:
                if obj.get(key) is not None:
                    return obj[key]
        return None

    raw_status = _text(pick("status", "state"))
    if raw_status is None:
        raise BadResponse("The backend sent a render answer without a status.")
    status = _RENDER_STATES.get(raw_status.strip().lower())
    if status is None:
        log.warning("unknown render status %r; treating it as still processing", raw_status)
        status = "processing"
    progress = _number(pick("progress"))
    if progress is None:
        progress = 100.0 if status == "completed" else 0.0
    url = _text(pick("outputUrl", "output_url")) or _text(_output_url(body)) or _text(_output_url(data))
    return RenderStatus(
        id=_text(pick("id", "taskId", "render_id")) or render_id,
        status=status,
        progress=min(100.0, max(0.0, progress)),
        url=url,
        error=_error_text(pick("error", "errorMessage")),
        completed_at=epoch_seconds(pick("completedAt", "completed_at")),
    )


def _output_url(obj: Mapping[str, Any]) -> Any:
    output = obj.get("output")
    return output.get("url") if isinstance(output, Mapping) else None


def _error_text(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("message")
    return _text(value)


def _text(value: Any) -> str | None:
    """Strings and numbers (ids arrive as either) as a non-empty string; anything else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int, float)):
        text = str(value).strip()
        return text or None
    return None


def _number(value: Any) -> float | None:
    """A finite number from an int, float or numeric string (``"37"``, ``"37%"``); else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = value.strip().rstrip("%").strip()
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def epoch_seconds(value: Any) -> float | None:
    """Epoch seconds from epoch seconds, epoch milliseconds or an ISO-8601 string."""
    number = _number(value)
    if number is not None:
        return number / 1000.0 if number > 1e11 else number
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).timestamp()
        except ValueError:
            return None
    return None


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [dict(item) for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []
