"""Pure: agent events -> SSE bytes, in either dialect of contract §4 (CONFLICT: both are produced).

* ``adk``: one ``data: <ADK Event JSON>`` frame per event (camelCase, nulls omitted), as Google ADK's
  ``/run_sse`` writes them; with ``streaming: true`` text first arrives as ``partial`` chunks and
  then once more whole, as ADK does.
* ``typed``: ``{"type": "text" | "tool_call" | "tool_result", ...}`` frames (the reverted reference).

Neither dialect has a done marker: the turn ends when the response ends.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from free_generation_image.sandbox.config import Framing, HeartbeatStyle
from free_generation_image.sandbox.events import (
    AgentEvent,
    ModelError,
    StreamError,
    Text,
    ToolCall,
    ToolResult,
)

HEARTBEATS: dict[HeartbeatStyle, bytes] = {
    "typed": b'data: {"type":"heartbeat"}\n\n',
    "empty": b"data:\n\n",
    "comment": b": ping\n\n",
}
PARTIAL_CHUNKS = 3


def sse(payload: Mapping[str, Any]) -> bytes:
    """One ``data:`` frame."""
    return b"data: " + json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


def heartbeat(style: HeartbeatStyle) -> bytes:
    """A keep-alive in one of the three forms the skill documents."""
    return HEARTBEATS[style]


def split_partials(text: str, parts: int = PARTIAL_CHUNKS) -> list[str]:
    """Cut ``text`` into up to ``parts`` chunks that concatenate back to it exactly."""
    size = max(1, -(-len(text) // parts))
    return [text[i : i + size] for i in range(0, len(text), size)] or [text]


@dataclass(frozen=True)
class Framer:
    """Encodes the events of one invocation (one ``/run_sse`` call)."""

    framing: Framing
    invocation_id: str
    author: str = "nemo_agent"
    streaming: bool = False

    def encode(self, event: AgentEvent) -> list[bytes]:
        """The frames for one event (several only for ADK partial text)."""
        if isinstance(event, StreamError):
            return [sse({"error": event.message})]
        if self.framing == "typed":
            return [sse(self._typed(event))]
        if isinstance(event, Text) and self.streaming:
            chunks = [self._adk(_text_content(c), partial=True) for c in split_partials(event.text)]
            return [sse(c) for c in chunks] + [sse(self._adk(_text_content(event.text)))]
        return [sse(self._adk_event(event))]

    def _typed(self, event: AgentEvent) -> dict[str, Any]:
        if isinstance(event, Text):
            return {"type": "text", "content": event.text}
        if isinstance(event, ToolCall):
            return {"type": "tool_call", "name": event.name, "args": dict(event.args)}
        if isinstance(event, ToolResult):
            return {"type": "tool_result", "name": event.name, "result": dict(event.response)}
        if isinstance(event, ModelError):  # GUESS: the typed dialect's error frame is undocumented
            return {"type": "error", "code": event.code, "error": event.message}
        raise TypeError(f"cannot frame {event!r}")

    def _adk_event(self, event: AgentEvent) -> dict[str, Any]:
        if isinstance(event, Text):
            return self._adk(_text_content(event.text))
        if isinstance(event, ToolCall):
            call = {"functionCall": {"id": event.call_id, "name": event.name, "args": dict(event.args)}}
            extra = {"longRunningToolIds": [event.call_id]} if event.long_running else {}
            return self._adk({"role": "model", "parts": [call]}, **extra)
        if isinstance(event, ToolResult):
            result = {
                "functionResponse": {
                    "id": event.call_id,
                    "name": event.name,
                    "response": dict(event.response),
                }
            }
            return self._adk({"role": "user", "parts": [result]})
        if isinstance(event, ModelError):
            return self._adk(None, errorCode=event.code, errorMessage=event.message)
        raise TypeError(f"cannot frame {event!r}")

    def _adk(self, content: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {} if content is None else {"content": content}
        body.update(extra)
        body.update(
            {
                "invocationId": self.invocation_id,
                "author": self.author,
                "actions": {"stateDelta": {}, "artifactDelta": {}, "requestedAuthConfigs": {}},
                "id": str(uuid.uuid4()),
                "timestamp": time.time(),
            }
        )
        return body


def _text_content(text: str) -> dict[str, Any]:
    return {"role": "model", "parts": [{"text": text}]}
