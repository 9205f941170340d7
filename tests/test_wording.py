"""What people read about jobs: backend tool names never shown, messages that match the job's state."""

from __future__ import annotations

import pytest

from free_generation_image.generation import describe, tool_words
from free_generation_image.nemo.events import Heartbeat, TextEvent, ToolCall, ToolResult

INTERNAL = [
    "generate_image_with_seedream",
    "generate_video_with_seedance",
    "edit_multitrack",
    "zz_secret_tool",
]


@pytest.mark.parametrize("name", INTERNAL)
def test_progress_never_names_a_backend_tool(name: str) -> None:
    for event in (ToolCall(name=name), ToolResult(name=name)):
        line = describe(event, 3.0)
        assert name not in line and "_" not in line
        assert line in {
            "generating the image",
            "generating the clip",
            "editing the timeline",
            "working",
            "finished generating the image",
            "finished generating the clip",
            "finished editing the timeline",
        }


def test_tools_are_described_in_plain_words() -> None:
    assert tool_words("generate_image_with_seedream") == "generating the image"
    assert tool_words("generate_video_with_seedance") == "generating the clip"
    assert tool_words("edit_multitrack") == "editing the timeline"
    assert tool_words("zz_secret_tool") is None
    assert describe(TextEvent(text="Here is your picture"), 1.0) == "writing the reply"
    assert describe(Heartbeat(), 12.4) == "still working (12s)"
