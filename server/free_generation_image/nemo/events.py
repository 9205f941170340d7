"""Pure: one ``/run_sse`` payload -> the events a client cares about (contract §4).

Two framings exist and we do not know which the real backend speaks (§4.2 CONFLICT): ADK Event
JSON (camelCase, ``content.parts[]``) and a ``{"type": ...}`` dialect. Both are accepted, in the
order the contract recommends: error frame, heartbeat, ADK event, typed dialect. Reasoning
(``thought``) parts are hidden. Anything unreadable is dropped with a debug log: one odd frame
must not end a turn that may cost credits.

Partial text (``partial: true``, only when ADK streams) is reported as ``TextEvent(partial=True)``
chunks; ADK then sends one non-partial event repeating the whole text. That non-partial
``TextEvent`` REPLACES the partial chunks received since the previous non-partial text: show
chunks as live progress, keep only non-partial texts as the reply.

Every string an event carries is backend text and is cleaned here (``nemo.sanitize``): no escape
sequence, control or bidi character gets past this module. Partial chunks are cleaned one by one,
which is enough: a sequence cut across two chunks loses its ESC in the first and leaves plain text.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from free_generation_image.nemo.sanitize import clean, clean_line

log = logging.getLogger(__name__)

EventKind = Literal["text", "tool_call", "tool_result", "heartbeat", "error"]

# The three kinds built for every event of a turn are not frozen: a frozen dataclass's __init__ sets
# each field through object.__setattr__ (1.0 µs here, against 0.18 µs), a fifth of the whole stream
# read loop (bench/README.md, figure 4). Nothing changes them after classify() builds them.


@dataclass(slots=True)
class TextEvent:
    """Text for the user. ``partial`` chunks are replaced by the next non-partial text."""

    text: str
    partial: bool = False
    author: str | None = None
    kind: Literal["text"] = field(default="text", init=False)


@dataclass(slots=True)
class ToolCall:
    """The backend agent started a tool (hide it; useful for progress)."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    call_id: str | None = None
    kind: Literal["tool_call"] = field(default="tool_call", init=False)


@dataclass(slots=True)
class ToolResult:
    """A tool finished; ``response`` may carry asset URLs."""

    name: str
    response: dict[str, Any] = field(default_factory=dict)
    call_id: str | None = None
    kind: Literal["tool_result"] = field(default="tool_result", init=False)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Keep-alive: the backend is still working. Does not count as progress."""

    kind: Literal["heartbeat"] = field(default="heartbeat", init=False)


@dataclass(frozen=True, slots=True)
class StreamError:
    """The backend reported an error inside the stream (final ``{"error": …}`` frame or ``errorCode``)."""

    message: str
    code: str | None = None
    kind: Literal["error"] = field(default="error", init=False)


StreamEvent = TextEvent | ToolCall | ToolResult | Heartbeat | StreamError

HEARTBEAT: Final = Heartbeat()
_decode_json: Final = json.JSONDecoder().decode  # json.loads minus its per-call argument checks
# decode() also runs a whitespace regex before and after the object: a payload that is exactly one
# object (every well-formed frame) only needs the scan in between.
_scan_json: Final = json.JSONDecoder().raw_decode
# Old ADK wrote the final error frame with string formatting, so a quote in the message breaks
# the JSON (§4.1); recover the message rather than lose the one frame that explains the failure.
_BROKEN_ERROR_FRAME: Final = re.compile(r'\A\s*\{\s*"error"\s*:\s*"(?P<message>.*)"\s*\}\s*\Z', re.DOTALL)


def classify(data: str) -> list[StreamEvent]:
    """The events carried by one SSE ``data`` payload; ``""`` (empty ``data:``) is a heartbeat."""
    if not data or data.isspace():
        return [HEARTBEAT]
    if data[0] == "{":
        try:
            payload, end = _scan_json(data)
        except ValueError:
            end = -1  # malformed: the general path below drops it or recovers a broken error frame
        if end == len(data):
            return classify_payload(payload)
    try:
        payload = _decode_json(data)
    except ValueError:
        broken = _BROKEN_ERROR_FRAME.match(data)
        if broken:
            return [StreamError(clean(broken["message"]).strip() or "The backend reported an error.")]
        log.debug("ignoring a stream payload that is not JSON (%d chars)", len(data))
        return []
    if not isinstance(payload, dict):
        log.debug("ignoring a stream payload of type %s", type(payload).__name__)
        return []
    return classify_payload(payload)


def classify_payload(payload: Mapping[str, Any]) -> list[StreamEvent]:
    """Like :func:`classify`, for a payload already decoded."""
    if "error" in payload and "content" not in payload:
        return [StreamError(_message(payload["error"]) or "The backend reported an error.", _code(payload))]
    kind = payload.get("type")
    if kind == "heartbeat":
        return [HEARTBEAT]
    content = payload.get("content")
    if isinstance(content, dict) or "errorCode" in payload or "errorMessage" in payload:
        return _adk_event(payload, content if isinstance(content, dict) else {})
    if isinstance(kind, str):
        return _typed(kind, payload)
    if "actions" not in payload:  # an actions-only ADK event (artifact split) is expected noise
        log.debug("ignoring a stream payload with keys %s", sorted(payload)[:8])
    return []


def _adk_event(event: Mapping[str, Any], content: Mapping[str, Any]) -> list[StreamEvent]:
    out: list[StreamEvent] = []
    author = event.get("author")
    if isinstance(author, str):
        author = author if author.isidentifier() else clean_line(author) or None  # "nemo_agent": no copy
    else:
        author = None
    partial = event.get("partial") is True
    parts = content.get("parts")
    for part in parts if isinstance(parts, list) else ():
        if not isinstance(part, dict):
            continue
        text = part.get("text")
        if text is not None:
            # The user's own message is not echoed by ADK; if a gateway echoes it, it is not a reply.
            if isinstance(text, str) and text and part.get("thought") is not True and author != "user":
                text = clean(text)
                if text:
                    out.append(TextEvent(text, partial, author))
            continue
        call = part.get("functionCall")
        if isinstance(call, dict):
            out.append(ToolCall(_name(call), _object(call.get("args")), _opt_str(call.get("id"))))
            continue
        response = part.get("functionResponse")
        if isinstance(response, dict):
            result = _object(response.get("response"))
            out.append(ToolResult(_name(response), result, _opt_str(response.get("id"))))
    if event.get("errorCode") is not None or event.get("errorMessage") is not None:
        code = event.get("errorCode")
        shown = clean_line(str(code)) or None if code is not None else None
        message = _message(event.get("errorMessage")) or f"The backend agent failed ({shown})."
        out.append(StreamError(message, shown))
    return out


def _typed(kind: str, payload: Mapping[str, Any]) -> list[StreamEvent]:
    """The ``{"type": ...}`` dialect of the reverted API reference (§4.2)."""
    if kind == "text":
        text = payload.get("content", payload.get("text"))
        text = clean(text) if isinstance(text, str) else ""
        return [TextEvent(text, payload.get("partial") is True)] if text else []
    if kind == "tool_call":
        return [ToolCall(_name(payload), _object(payload.get("args")), _opt_str(payload.get("id")))]
    if kind == "tool_result":
        result = payload.get("result", payload.get("response"))
        return [ToolResult(_name(payload), _object(result), _opt_str(payload.get("id")))]
    if kind == "error":
        text = _message(payload.get("message", payload.get("content")))
        return [StreamError(text or "The backend reported an error.", _code(payload))]
    log.debug("ignoring a stream payload of type %r", kind)
    return []


def _name(obj: Mapping[str, Any]) -> str:
    name = obj.get("name")
    return (clean_line(name) if isinstance(name, str) else "") or "unknown_tool"


def _object(value: Any) -> dict[str, Any]:
    """Tool args/results are objects in both framings; anything else is wrapped, not dropped."""
    if isinstance(value, dict):
        return value
    return {} if value is None else {"result": value}


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _message(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("message", value.get("error"))
    if isinstance(value, str):
        return clean(value).strip()
    return "" if value is None else clean(json.dumps(value, ensure_ascii=False)[:300])


def _code(payload: Mapping[str, Any]) -> str | None:
    code = payload.get("code", payload.get("errorCode"))
    if code is None and isinstance(payload.get("error"), Mapping):
        code = payload["error"].get("code")
    return None if code is None or isinstance(code, bool) else clean_line(str(code)) or None
