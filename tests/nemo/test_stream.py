"""POST /run_sse: the prompt is sent once; errors before the stream map, drops after it never re-send."""

from __future__ import annotations

import itertools
import json
from contextlib import aclosing
from typing import Any

import anyio
import httpx2
import pytest

from free_generation_image.nemo.client import NemoClient
from free_generation_image.nemo.errors import (
    BackendUnavailable,
    BadResponse,
    InsufficientCredits,
    SessionNotFound,
    StreamDropped,
)
from free_generation_image.nemo.events import Heartbeat, StreamError, StreamEvent, TextEvent, ToolCall

from .conftest import MakeClient
from .fakes import Chunks, FakeBackend, fail, reply, sse

pytestmark = pytest.mark.anyio

RUN = "/run_sse"
SID = "5529798706024415232"


def frame(value: Any) -> bytes:
    return b"data: " + json.dumps(value).encode() + b"\n\n"


def text(value: str, **extra: Any) -> bytes:
    return frame({"author": "nemo_agent", "content": {"role": "model", "parts": [{"text": value}]}, **extra})


CALL = frame({"author": "nemo_agent", "content": {"parts": [{"functionCall": {"name": "gen", "args": {}}}]}})
PING = b": ping\n\n"


async def collect(client: NemoClient, into: list[StreamEvent] | None = None) -> list[StreamEvent]:
    events = [] if into is None else into
    async with aclosing(client.run_sse(SID, "make a sunset video")) as stream:
        async for event in stream:
            events.append(event)
    return events


async def test_request_is_the_adk_run_request(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("POST", RUN, sse([text("Hello")]))
    async with make_client(token="nmv_usr_x") as client:
        assert await collect(client) == [TextEvent("Hello", False, "nemo_agent")]
    [request] = backend.calls("POST", RUN)
    assert json.loads(request.content) == {
        "app_name": "nemo_agent",
        "user_id": "me",
        "session_id": SID,
        "new_message": {"role": "user", "parts": [{"text": "make a sunset video"}]},
    }
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == "Bearer nmv_usr_x"


async def test_stream_error_frame_is_an_event_not_an_exception(
    backend: FakeBackend, make_client: MakeClient
) -> None:
    backend.on("POST", RUN, sse([text("Working"), b'data: {"error": "tool crashed"}\n\n']))
    async with make_client(token="t") as client:
        assert (await collect(client))[-1] == StreamError("tool crashed")


@pytest.mark.parametrize(
    "error",
    [
        httpx2.ReadError("reset"),
        httpx2.RemoteProtocolError("incomplete chunked read"),
        httpx2.ReadTimeout("idle"),
    ],
)
async def test_drop_mid_stream_is_never_resent(
    backend: FakeBackend, make_client: MakeClient, sleeps: list[float], error: Exception
) -> None:
    backend.on("POST", RUN, sse([text("Generating…"), CALL, PING, error]), sse([text("again?")]))
    seen: list[StreamEvent] = []
    async with make_client(token="t") as client:
        with pytest.raises(StreamDropped) as info:
            await collect(client, seen)
    assert info.value.events_seen == 2  # heartbeats do not count
    assert info.value.__cause__ is error
    assert [e.kind for e in seen] == ["text", "tool_call", "heartbeat"]
    assert len(backend.calls("POST", RUN)) == 1
    assert sleeps == []


async def test_timeout_waiting_for_headers_is_a_drop(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("POST", RUN, fail(httpx2.ReadTimeout("no headers")), sse([text("late")]))
    async with make_client(token="t") as client:
        with pytest.raises(StreamDropped) as info:
            await collect(client)
    assert info.value.events_seen == 0
    assert "may have reached the backend" in info.value.message
    assert len(backend.calls("POST", RUN)) == 1


async def test_connect_error_is_retried_because_nothing_was_sent(
    backend: FakeBackend, make_client: MakeClient
) -> None:
    backend.on("POST", RUN, fail(httpx2.ConnectError("refused")), sse([text("ok")]))
    async with make_client(token="t") as client:
        assert await collect(client) == [TextEvent("ok", False, "nemo_agent")]
    assert len(backend.calls("POST", RUN)) == 2


async def test_refused_token_before_the_stream_refreshes_and_resends(
    backend: FakeBackend, make_client: MakeClient
) -> None:
    backend.on("POST", RUN, reply(401, json={"code": 1001, "message": "expired"}), sse([text("ok")]))
    async with make_client() as client:
        assert [e.kind for e in await collect(client)] == ["text"]
    runs = backend.calls("POST", RUN)
    assert [r.headers["authorization"] for r in runs] == ["Bearer nmv_usr_t1", "Bearer nmv_usr_t2"]


async def test_rate_limit_before_the_stream_is_retried_once(
    backend: FakeBackend, make_client: MakeClient, sleeps: list[float]
) -> None:
    backend.on(
        "POST", RUN, reply(429, json={"detail": "slow"}, headers={"Retry-After": "2"}), sse([text("ok")])
    )
    async with make_client(token="t") as client:
        assert len(await collect(client)) == 1
    assert sleeps == [2.0]


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (reply(404, json={"code": 1002, "message": "session not found"}), SessionNotFound),
        (reply(404, json={"detail": f"Session not found: {SID}"}), SessionNotFound),
        (reply(200, json={"code": 1002, "message": "session not found"}), SessionNotFound),
        (reply(402, json={"code": 2001, "message": "insufficient credits"}), InsufficientCredits),
        (reply(200, json={"code": 2001, "message": "insufficient credits"}), InsufficientCredits),
        (reply(200, json={"code": 0, "data": {}}), BadResponse),  # JSON success instead of a stream
        (reply(200, content=b"<html>portal</html>", headers={"content-type": "text/html"}), BadResponse),
        (reply(502, content=b"<html>502</html>", headers={"content-type": "text/html"}), BackendUnavailable),
    ],
)
async def test_errors_before_the_stream(
    backend: FakeBackend, make_client: MakeClient, answer: Any, error: type[Exception]
) -> None:
    backend.on("POST", RUN, answer, sse([text("should not be reached")]))
    async with make_client() as client:
        with pytest.raises(error) as info:
            await collect(client)
    assert type(info.value) is error  # a 502 is not StreamDropped: it never produced a stream
    assert len(backend.calls("POST", RUN)) == 1
    if error is InsufficientCredits:
        assert isinstance(info.value, InsufficientCredits)
        assert "register?bind=anon_0123456789abcdef" in info.value.hint


async def test_keepalives_alone_hit_the_idle_timeout(backend: FakeBackend, make_client: MakeClient) -> None:
    forms = itertools.cycle([PING, b"data:\n\n", b'data: {"type":"heartbeat"}\n\n'])
    backend.on("POST", RUN, sse(itertools.chain([text("Generating…")], forms), gap=0.01))
    seen: list[StreamEvent] = []
    async with make_client(token="t", stream_idle_timeout=0.2) as client:
        started = anyio.current_time()
        with pytest.raises(StreamDropped, match="No progress") as info:
            await collect(client, seen)
    assert 0.2 <= anyio.current_time() - started < 2
    assert info.value.events_seen == 1
    assert seen[0] == TextEvent("Generating…", False, "nemo_agent")
    assert len(seen) > 5
    assert all(e == Heartbeat() for e in seen[1:])


async def test_progress_resets_the_idle_timeout(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("POST", RUN, sse([text(f"step {i}") for i in range(12)], gap=0.03))
    async with make_client(token="t", stream_idle_timeout=0.15) as client:
        assert len(await collect(client)) == 12  # 0.36 s in total, never 0.15 s without progress


async def test_hard_cap_ends_a_busy_turn(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("POST", RUN, sse((text(f"step {i}") for i in itertools.count()), gap=0.02))
    seen: list[StreamEvent] = []
    async with make_client(token="t", stream_idle_timeout=5, stream_max_seconds=0.3) as client:
        with pytest.raises(StreamDropped, match="limit") as info:
            await collect(client, seen)
    assert info.value.events_seen == len(seen) > 3
    assert len(backend.calls("POST", RUN)) == 1


async def test_timeouts_are_adjustable_after_construction(
    backend: FakeBackend, make_client: MakeClient
) -> None:
    backend.on("POST", RUN, sse(itertools.repeat(PING), gap=0.01))
    async with make_client(token="t") as client:
        client.stream_idle_timeout = 0.1
        with pytest.raises(StreamDropped):
            await collect(client)


async def test_stopping_early_closes_the_response(backend: FakeBackend, make_client: MakeClient) -> None:
    bodies: list[Chunks] = []
    backend.on("POST", RUN, sse(itertools.repeat(text("more")), streams=bodies))
    async with make_client(token="t") as client, aclosing(client.run_sse(SID, "hi")) as stream:
        async for _ in stream:
            break
    assert bodies[0].closed


async def test_partial_chunks_then_the_aggregate(backend: FakeBackend, make_client: MakeClient) -> None:
    """Partial chunks are reported as such; the aggregate that repeats them is the message."""
    backend.on("POST", RUN, sse([text("Hel", partial=True), text("lo", partial=True), text("Hello")]))
    async with make_client(token="t") as client:
        events = await collect(client)
    assert [(e.text, e.partial) for e in events if isinstance(e, TextEvent)] == [
        ("Hel", True),
        ("lo", True),
        ("Hello", False),
    ]


async def test_gzip_encoded_stream(backend: FakeBackend, make_client: MakeClient) -> None:
    import gzip

    body = gzip.compress(text("compressed") + PING)
    backend.on(
        "POST",
        RUN,
        reply(
            200,
            content=body,
            headers={"content-type": "text/event-stream; charset=utf-8", "content-encoding": "gzip"},
        ),
    )
    async with make_client(token="t") as client:
        assert [e.kind for e in await collect(client)] == ["text", "heartbeat"]


async def test_tool_call_args_survive(backend: FakeBackend, make_client: MakeClient) -> None:
    call = frame(
        {"content": {"parts": [{"functionCall": {"id": "c", "name": "gen", "args": {"ratio": "9:16"}}}]}}
    )
    backend.on("POST", RUN, sse([call]))
    async with make_client(token="t") as client:
        assert await collect(client) == [ToolCall("gen", {"ratio": "9:16"}, "c")]
