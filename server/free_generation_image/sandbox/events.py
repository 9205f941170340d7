"""What a scripted agent turn emits, independent of how it is framed on the wire (see frames.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# GUESS (contract §4.2/§4.4): tool names the backend agent uses. Kept here, in one place.
TOOL_GENERATE_IMAGE = "generate_image"
TOOL_GENERATE_VIDEO = "generate_video_with_seedance"
TOOL_EDIT = "edit_multitrack"


@dataclass(frozen=True)
class Text:
    """Text the user should see."""

    text: str


@dataclass(frozen=True)
class ToolCall:
    """The agent calls a tool (``long_running`` for generation)."""

    call_id: str
    name: str
    args: Mapping[str, Any]
    long_running: bool = False


@dataclass(frozen=True)
class ToolResult:
    """A tool's result."""

    call_id: str
    name: str
    response: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamError:
    """ADK's last-resort frame ``data: {"error": ...}`` when the agent run raised."""

    message: str


@dataclass(frozen=True)
class ModelError:
    """A model-level error carried in a normal ADK event (``errorCode``/``errorMessage``)."""

    code: str
    message: str


AgentEvent = Text | ToolCall | ToolResult | StreamError | ModelError
