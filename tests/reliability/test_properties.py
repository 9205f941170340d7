"""Property tests for everything that reads what the backend (or the user) sends: whatever arrives, the
parsers return a value or raise one of our own errors, never a stray ValueError, KeyError or TypeError.

They complement the ones beside each module (tests/nemo/test_sse.py, test_events.py, test_timeline.py,
tests/test_router.py), which cut *valid* input anywhere; here the input itself is hostile.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Callable
from typing import Any, get_args

import anyio
import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from free_generation_image import changes, gui, router, timeline_words
from free_generation_image.errors import FGIError
from free_generation_image.naming import safe_stem
from free_generation_image.nemo import envelope, timeline
from free_generation_image.nemo.errors import NemoError, StreamDropped
from free_generation_image.nemo.events import StreamEvent, classify
from free_generation_image.nemo.models import (
    Credits,
    SessionInfo,
    SessionState,
    epoch_seconds,
    parse_render,
    uploaded_files,
)
from free_generation_image.nemo.sse import EventTooLarge, SSEDecoder
from free_generation_image.nemo.stream import read_events
from tests.nemo.fakes import Chunks

# JSON values, including the deep nesting and huge numbers a hostile server can send.
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
KEYS = st.sampled_from(
    [
        "code",
        "data",
        "success",
        "error",
        "message",
        "detail",
        "status",
        "state",
        "progress",
        "outputUrl",
        "output",
        "url",
        "id",
        "available",
        "frozen",
        "total",
        "session_id",
        "task_id",
        "files",
        "draft",
        "generated_media",
        "video_infos",
        "completedAt",
        "msg",
        "loc",
    ]
) | st.text(max_size=8)
JSON = st.recursive(
    SCALARS, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(KEYS, kids, max_size=5), max_leaves=30
)
LINE_BREAKS = st.sampled_from(["\n", "\r", "\r\n", "\n\n", "\r\r", ""])
SSE_TEXT = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(["data:", "data: ", ":", "event: x", "id: 1", "retry: 5", '{"error":"x"}', "\x00"]),
        LINE_BREAKS,
    ),
    max_size=30,
).map("".join)


def _chunks(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(min(c, len(text)) for c in cuts)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


# ----------------------------------------------------------------------------------- SSE
@settings(max_examples=150, deadline=None)
@given(SSE_TEXT, st.lists(st.integers(min_value=0, max_value=400), max_size=8), st.integers(1, 64))
def test_the_sse_decoder_only_ever_refuses_an_oversized_event(text: str, cuts: list[int], limit: int) -> None:
    decoder = SSEDecoder(max_event_chars=limit)
    try:
        payloads = [p for chunk in _chunks(text, cuts) for p in decoder.feed(chunk)] + decoder.close()
    except EventTooLarge:
        return
    assert all(isinstance(p, str) for p in payloads)
    for payload in payloads:  # and every payload it hands on is classified without raising
        assert all(isinstance(e, get_args(StreamEvent)) for e in classify(payload))


async def _read_all(chunks: list[bytes | BaseException]) -> list[StreamEvent]:
    response = httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=Chunks(chunks))
    return [event async for event in read_events(response, idle_timeout=5, max_seconds=5)]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.binary(max_size=60) | SSE_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")), max_size=12
    ),
    st.booleans(),
)
def test_a_stream_of_arbitrary_bytes_yields_events_or_a_drop(parts: list[bytes], breaks: bool) -> None:
    chunks: list[bytes | BaseException] = list(parts)
    if breaks:  # whatever came before, a broken connection is a drop (and so never a re-send)
        with pytest.raises(StreamDropped):
            anyio.run(_read_all, [*chunks, httpx2.ReadError("connection reset")])
        return
    events = anyio.run(_read_all, chunks)
    assert all(e.kind in ("text", "tool_call", "tool_result", "heartbeat", "error") for e in events)


@settings(max_examples=150, deadline=None)
@given(JSON)
def test_classify_any_json_document(value: Any) -> None:
    assert isinstance(classify(json.dumps(value)), list)


# ----------------------------------------------------------------------------- envelopes
BODIES = st.one_of(
    st.binary(max_size=80),
    JSON.map(lambda v: json.dumps(v).encode()),
    st.sampled_from(
        [b"<html>502</html>", b'{"code": "1001"}', b'{"code": 1e999}', b'{"success": "no"}', b"\xff"]
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=100, max_value=599), BODIES, st.one_of(st.none(), st.text(max_size=30)))
def test_any_answer_unwraps_to_data_or_one_of_our_errors(
    status: int, body: bytes, retry_after: str | None
) -> None:
    wait = envelope.retry_after_seconds(retry_after)
    assert wait is None or wait >= 0
    try:
        envelope.unwrap(status, body, retry_after=wait)
    except NemoError as err:
        error = err
    else:
        return
    assert error.message and len(error.message) <= 400 and "\n" not in error.message


@settings(max_examples=150, deadline=None)
@given(JSON)
def test_the_response_models_read_any_json_or_say_it_is_bad(value: Any) -> None:
    readers: list[Callable[[], object]] = [
        lambda: parse_render(value, render_id="render_x"),
        lambda: SessionState.from_data(value),
        lambda: Credits.from_data(value),
        lambda: SessionInfo.from_data(value),
        lambda: uploaded_files(value),
        lambda: epoch_seconds(value),
    ]
    for read in readers:
        with contextlib.suppress(NemoError):
            read()
    state = SessionState.from_data({"state": value}) if not isinstance(value, dict) else None
    if state is not None:
        assert state.draft is None or isinstance(state.draft, dict)


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=40) | st.sampled_from(["0001-01-01", "9999-12-31T23:59:59", "0001-01-01T00:00:00+14:00"])
)
def test_any_time_text_is_read_or_ignored(value: str) -> None:
    seconds = epoch_seconds(value)
    assert seconds is None or isinstance(seconds, float)


# ------------------------------------------------------------------------------ timeline
@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200), JSON.map(json.dumps)))
def test_a_draft_in_any_encoding_is_parsed_or_ignored(raw: str | bytes) -> None:
    draft = timeline.parse_draft(raw)
    summary = timeline_words.summarize(draft)
    assert "\n" not in summary
    timeline.is_ready(draft)


@settings(max_examples=200, deadline=None)
@given(JSON, JSON)
def test_diffing_any_two_states_never_raises(before: Any, after: Any) -> None:
    diff = changes.diff_states(
        {"draft": before, "generated_media": before}, {"draft": after, "generated_media": after}
    )
    assert all("\n" not in line for line in diff.lines)


# ---------------------------------------------------------------------------- user input
@settings(max_examples=150, deadline=None)
@given(
    st.text(
        max_size=300, alphabet=st.characters(codec="utf-8") | st.sampled_from(["\x00", "\u202e", "\udcff"])
    )
)
def test_router_and_gui_take_any_text(message: str) -> None:
    try:
        route = router.route(message)
    except FGIError:
        return
    assert route.op in router.OPS
    assert isinstance(gui.translate(message).text, str)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=120)), st.text(max_size=120))
def test_any_disposition_or_title_becomes_one_safe_name(header: str | None, title: str) -> None:
    for stem in (safe_stem(header or ""), safe_stem(title)):
        assert stem and "/" not in stem and "\\" not in stem and not stem.startswith(".")
