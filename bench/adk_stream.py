"""Pure: the bytes of a long ``/run_sse`` turn in the ADK framing, built with the sandbox's own framer.

The mix resembles a streamed generation turn: partial text chunks and their whole-text repeat,
tool calls and results carrying URLs, and keep-alives. The mix and the event count are
deterministic; ids and timestamps are not (the framer makes them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from free_generation_image.sandbox.events import TOOL_GENERATE_VIDEO, AgentEvent, Text, ToolCall, ToolResult
from free_generation_image.sandbox.frames import Framer, heartbeat

SENTENCES: Final = (
    "Generating your clip now: a lighthouse at dusk, slow push-in, warm light.",
    "The first shot is ready; adding background music and a title.",
    "正在生成视频，请稍候。",
    "Done. The timeline has a 5 s clip, a BGM track at 35 % and the title card.",
)


@dataclass(frozen=True)
class BuiltStream:
    """An SSE body and how many events a reader should report from it (keep-alives excluded)."""

    body: bytes
    events: int
    heartbeats: int


def build(events: int) -> BuiltStream:
    """A stream of at least ``events`` events (text chunks, tool calls and results), plus keep-alives."""
    framer = Framer("adk", "inv_bench", streaming=True)
    frames: list[bytes] = []
    counted = heartbeats = 0
    step = 0
    while counted < events:
        event = _event(step)
        encoded = framer.encode(event)
        frames += encoded
        counted += len(encoded)
        if step % 8 == 7:
            frames.append(heartbeat("typed"))
            heartbeats += 1
        step += 1
    return BuiltStream(b"".join(frames), counted, heartbeats)


def _event(step: int) -> AgentEvent:
    kind = step % 4
    call_id = f"call_{step // 4}"
    if kind == 1:
        args = {"prompt": SENTENCES[0], "duration": 5}
        return ToolCall(call_id, TOOL_GENERATE_VIDEO, args, long_running=True)
    if kind == 2:
        url = f"https://static1.nemovideo.ai/generated/{step:08d}.mp4"
        return ToolResult(call_id, TOOL_GENERATE_VIDEO, {"status": "success", "url": url, "duration": 5.0})
    return Text(SENTENCES[(step // 4) % len(SENTENCES)])
