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
from free_generation_image.nemo.sse import SSEDecoder


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


# ---------------------------------------------------------------------- backend text is made safe

OSC_TITLE, CSI_CLEAR, BEL = "\x1b]0;pwned\x07", "\x1b[2J\x1b[H", "\x07"
HOSTILE = f"Done!{OSC_TITLE}{CSI_CLEAR} Your video\u202e is ready{BEL}\u2066.\u2069\x9b31m"
SAFE = "Done! Your video is ready."


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (adk({"text": HOSTILE}), [TextEvent(SAFE, False, "nemo_agent")]),
        (adk({"text": HOSTILE}, partial=True), [TextEvent(SAFE, True, "nemo_agent")]),
        (adk({"text": HOSTILE}, author="nemo\x1b[31m_agent"), [TextEvent(SAFE, False, "nemo_agent")]),
        (adk({"text": "echo"}, author="user\x07"), []),  # still the user's own message once cleaned
        (adk({"text": f"{OSC_TITLE}{BEL}"}), []),  # nothing left to show
        (json.dumps({"type": "text", "content": HOSTILE}), [TextEvent(SAFE)]),
        (json.dumps({"error": HOSTILE}), [StreamError(SAFE)]),
        (json.dumps({"error": {"message": HOSTILE, "code": "E\x1b[2J1"}}), [StreamError(SAFE, "E1")]),
        (json.dumps({"type": "error", "message": HOSTILE}), [StreamError(SAFE)]),
        (adk(errorCode="SAFETY\x07", errorMessage=HOSTILE), [StreamError(SAFE, "SAFETY")]),
        (adk(errorCode="\x1b]0;x\x07BAD"), [StreamError("The backend agent failed (BAD).", "BAD")]),
        (json.dumps({"error": f"{OSC_TITLE}{BEL}"}), [StreamError("The backend reported an error.")]),
        # The broken final frame of old ADK (a quote inside the message) is recovered and cleaned too.
        ('{"error": "bad "x" \u001b]0;t\u0007ratio"}', [StreamError('bad "x" ratio')]),
        (
            '{"error": "bad "x"' + CSI_CLEAR + ' ratio"}',
            [StreamError('bad "x" ratio')],
        ),
        (
            adk({"functionCall": {"name": "gen\x1b]0;t\x07_image\n", "args": {}}}),
            [ToolCall("gen_image", {}, None)],
        ),
        (adk({"functionResponse": {"name": "\x1b[2J", "response": {}}}), [ToolResult("unknown_tool", {})]),
    ],
)
def test_backend_text_loses_escapes_and_controls(payload: str, expected: list[StreamEvent]) -> None:
    assert classify(payload) == expected


UNSAFE = frozenset(
    [chr(c) for c in range(0x20) if chr(c) not in "\n\t"]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + ["\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]
)


def shown_strings(event: StreamEvent) -> list[str]:
    """Every string of an event that can reach a person."""
    if isinstance(event, TextEvent):
        return [event.text, event.author or ""]
    if isinstance(event, StreamError):
        return [event.message, event.code or ""]
    if isinstance(event, ToolCall | ToolResult):
        return [event.name]
    return []


def adk_stream(texts: list[str], partial: bool) -> str:
    return "".join(f"data: {adk({'text': t}, partial=partial)}\n\n" for t in texts)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(["\x1b", "]0;", "[2J", "t", BEL, "\x1b\\", "\x9b", "\u202e", "\u2066", "\r\n", "ok"]),
        min_size=1,
        max_size=12,
    ).map("".join),
    st.data(),
)
def test_a_sequence_cut_across_chunks_never_reaches_the_reader(text: str, data: st.DataObject) -> None:
    """ADK streams a reply as partial events cut anywhere, then repeats it whole (§4.1); the SSE bytes
    themselves arrive cut anywhere too. Neither cut lets an escape through."""
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=3)))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    stream = adk_stream([p for p in pieces if p], partial=True) + adk_stream([text], partial=False)
    at = data.draw(st.integers(0, len(stream)))
    decoder = SSEDecoder()
    payloads = decoder.feed(stream[:at]) + decoder.feed(stream[at:]) + decoder.close()
    events = [e for p in payloads for e in classify(p)]
    live = "".join(e.text for e in events if isinstance(e, TextEvent) and e.partial)
    final = [e.text for e in events if isinstance(e, TextEvent) and not e.partial]
    assert not UNSAFE & set(live)
    assert not any(UNSAFE & set(t) for t in final)
    assert "".join(final) == "".join(
        e.text for e in classify(adk({"text": text})) if isinstance(e, TextEvent)
    )


@settings(max_examples=200, deadline=None)
@given(st.one_of(json_values, adk_like))
def test_no_event_string_carries_a_control_character(value: Any) -> None:
    for event in classify(json.dumps(value)):
        assert not any(UNSAFE & set(text) for text in shown_strings(event))
