"""classify(): one SSE payload -> events, both framings (pure table tests + a property test)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from free_generation_image.nemo.events import (
    Heartbeat,
    StreamError,
    StreamEvent,
    TextEvent,
    ToolCall,
    ToolResult,
    classify,
)


def adk(*parts: dict[str, Any], **extra: Any) -> str:
    event: dict[str, Any] = {"author": "nemo_agent", "actions": {"stateDelta": {}}, "id": "e1"}
    if parts:
        event["content"] = {"role": extra.pop("role", "model"), "parts": list(parts)}
    event.update(extra)
    return json.dumps(event)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        # heartbeats, every form that reaches classify()
        ("", [Heartbeat()]),
        ("  ", [Heartbeat()]),
        ('{"type":"heartbeat"}', [Heartbeat()]),
        # the final error frame, before anything else (§4.2 order, rule 1)
        ('{"error": "boom"}', [StreamError("boom")]),
        ('{"error": {"message": "quota", "code": 2001}}', [StreamError("quota", "2001")]),
        ('{"error": "Invalid "16:10" ratio"}', [StreamError('Invalid "16:10" ratio')]),  # broken quotes
        # ADK events
        (adk({"text": "hi"}), [TextEvent("hi", False, "nemo_agent")]),
        (adk({"text": "hi"}, partial=True), [TextEvent("hi", True, "nemo_agent")]),
        (adk({"text": "why", "thought": True}, {"text": "ok"}), [TextEvent("ok", False, "nemo_agent")]),
        (adk({"text": ""}), []),
        (adk({"text": "echo"}, author="user"), []),  # the user's own message is not a reply
        (
            adk({"functionCall": {"id": "c1", "name": "gen", "args": {"p": 1}}}),
            [ToolCall("gen", {"p": 1}, "c1")],
        ),
        (
            adk({"functionResponse": {"id": "c1", "name": "gen", "response": {"url": "u"}}}, role="user"),
            [ToolResult("gen", {"url": "u"}, "c1")],
        ),
        (adk({"functionCall": {"name": "gen"}}), [ToolCall("gen", {}, None)]),
        (
            adk({"functionResponse": {"name": "gen", "response": "done"}}),
            [ToolResult("gen", {"result": "done"})],
        ),
        (adk({"functionCall": {"args": {}}}), [ToolCall("unknown_tool", {}, None)]),
        (
            adk({"text": "a"}, {"functionCall": {"name": "t"}}, {"text": "b"}),
            [TextEvent("a", False, "nemo_agent"), ToolCall("t"), TextEvent("b", False, "nemo_agent")],
        ),
        (adk({"inlineData": {"mimeType": "image/png", "data": "AAAA"}}), []),
        (adk(errorCode="SAFETY", errorMessage="blocked"), [StreamError("blocked", "SAFETY")]),
        (
            adk(errorCode="UNKNOWN_ERROR"),
            [StreamError("The backend agent failed (UNKNOWN_ERROR).", "UNKNOWN_ERROR")],
        ),
        (adk(), []),  # actions only (artifact split)
        # the typed dialect (§4.2)
        ('{"type":"text","content":"hello"}', [TextEvent("hello")]),
        ('{"type":"text","content":""}', []),
        ('{"type":"tool_call","name":"gen","args":{"a":1}}', [ToolCall("gen", {"a": 1})]),
        ('{"type":"tool_result","name":"gen","result":{"ok":true}}', [ToolResult("gen", {"ok": True})]),
        ('{"type":"error","message":"bad"}', [StreamError("bad")]),
        ('{"type":"done"}', []),
        # unreadable: dropped, never raised
        ("not json", []),
        ("[DONE]", []),
        ("[1, 2]", []),
        ('"text"', []),
        ("{", []),
    ],
)
def test_classify(payload: str, expected: list[StreamEvent]) -> None:
    assert classify(payload) == expected


def test_events_have_kinds() -> None:
    kinds = [e.kind for e in (TextEvent("x"), ToolCall("t"), ToolResult("t"), Heartbeat(), StreamError("m"))]
    assert kinds == ["text", "tool_call", "tool_result", "heartbeat", "error"]


def test_unreadable_payloads_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="free_generation_image.nemo"):
        assert classify("<html>") == []
    assert any(r.levelno == logging.DEBUG for r in caplog.records)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
adk_keys = st.sampled_from(
    [
        "content",
        "parts",
        "text",
        "thought",
        "functionCall",
        "functionResponse",
        "name",
        "args",
        "response",
        "partial",
        "author",
        "error",
        "type",
        "errorCode",
        "errorMessage",
        "content",
        "result",
        "message",
        "code",
    ]
)
adk_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(adk_keys, children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_classify_never_raises_on_text(text: str) -> None:
    assert isinstance(classify(text), list)


@settings(max_examples=200, deadline=None)
@given(st.one_of(json_values, adk_like))
def test_classify_never_raises_on_json(value: Any) -> None:
    events = classify(json.dumps(value))
    assert all(e.kind in ("text", "tool_call", "tool_result", "heartbeat", "error") for e in events)
