"""``POST /run_sse``: send one prompt, read the agent's turn as events (contract §2.4, §4).

The rule that shapes this module: a prompt is sent once. Before the backend answers with an
event stream, only failures that prove the prompt never arrived are repeated (connect errors,
429, a refused token; see transport/auth). Once anything else may have reached the agent, every
failure is :class:`StreamDropped` with the number of events already delivered, and the caller
reads the project state instead of sending again (the backend keeps working, and charging).

Caps: ``idle_timeout`` without any event other than keep-alives (the skill's 10 minutes), and
``max_seconds`` for the whole turn (its 15 minutes). Both end the turn with StreamDropped.
"""

from __future__ import annotations

import codecs
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, Final

import anyio
import httpx2

from free_generation_image.nemo import envelope
from free_generation_image.nemo.errors import BadResponse, StreamDropped
from free_generation_image.nemo.events import StreamEvent, classify
from free_generation_image.nemo.sse import EventTooLarge, SSEDecoder
from free_generation_image.nemo.transport import Transport

log = logging.getLogger(__name__)

RUN_PATH: Final = "/run_sse"
APP_NAME: Final = "nemo_agent"
DEFAULT_IDLE_TIMEOUT: Final = 600.0
DEFAULT_MAX_SECONDS: Final = 900.0


def run_body(session_id: str, text: str) -> dict[str, Any]:
    """The ADK ``RunAgentRequest`` the skill sends (§2.4); ``user_id`` is the literal ``me``."""
    return {
        "app_name": APP_NAME,
        "user_id": "me",
        "session_id": session_id,
        "new_message": {"role": "user", "parts": [{"text": text}]},
    }


def _dropped_before_stream(message: str) -> StreamDropped:
    return StreamDropped(f"{message} The prompt may have reached the backend.", events_seen=0)


async def open_run(
    transport: Transport,
    token: str,
    session_id: str,
    text: str,
    *,
    idle_timeout: float,
    user_id: str | None = None,
) -> httpx2.Response:
    """Send the prompt and return the open event-stream response (the caller closes it).

    Raises the mapped :class:`NemoError` when the backend answered with an error instead of a
    stream (so a refused token can be refreshed and the prompt sent again: it was not received).
    """
    timeouts = httpx2.Timeout(30.0, connect=10.0, read=idle_timeout)
    response = await transport.open(
        "POST",
        RUN_PATH,
        token=token,
        json=run_body(session_id, text),
        headers={"Accept": "text/event-stream"},
        http_timeout=timeouts,
        ambiguous=_dropped_before_stream,
    )
    media_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type == "text/event-stream":
        return response
    try:
        body = await response.aread()
    except httpx2.TransportError as err:
        await response.aclose()
        raise _dropped_before_stream("The connection dropped before the stream started.") from err
    await response.aclose()
    # A JSON envelope where a stream was expected carries the refusal (2001, 1002, 1001...).
    envelope.unwrap(response.status_code, body, user_id=user_id, web_url=transport.web_url)
    raise BadResponse(
        f"The backend answered the prompt with {media_type or 'no content type'}, not a stream."
    )


def read_events(
    response: httpx2.Response,
    *,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    read_timeout: float | None = None,
) -> AsyncGenerator[StreamEvent]:
    """Yield the events of an already open event stream until the server closes it."""

    async def opened() -> httpx2.Response:
        return response

    return stream_events(
        opened, idle_timeout=idle_timeout, max_seconds=max_seconds, read_timeout=read_timeout
    )


async def stream_events(
    open_response: Callable[[], Awaitable[httpx2.Response]],
    *,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    read_timeout: float | None = None,
) -> AsyncGenerator[StreamEvent]:
    """Open the stream with ``open_response()`` (errors before it opens propagate as they are), then
    yield its events until the server closes it; the response is closed when the generator ends.

    ``max_seconds`` counts from the call to ``open_response``. Heartbeats are yielded but are not
    progress. ``read_timeout`` is the read timeout the response was opened with, if any.
    Never re-sends anything.
    """
    # Bookkeeping uses the monotonic clock (cheap); anyio's clock is read only to arm a cancel scope.
    started = time.monotonic()
    hard_deadline = started + max_seconds
    response = await open_response()
    idle_deadline = time.monotonic() + idle_timeout
    # A cancel scope costs ~20 µs per read, as much as decoding an event. When the next deadline
    # is no nearer than the response's own read timeout (true right after progress, the busy
    # case), that timeout already enforces it; the scope is only used once keep-alives have eaten
    # into the idle budget or the hard cap is near. ``slack`` bounds the imprecision this allows.
    slack = min(1.0, idle_timeout / 20)
    decoder = SSEDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")("replace")
    chunks = response.aiter_bytes()
    seen = 0
    raw: bytes | None
    try:
        while True:
            deadline = min(idle_deadline, hard_deadline)
            now = time.monotonic()
            if read_timeout is not None and deadline >= now + read_timeout - slack:
                try:
                    raw = await chunks.__anext__()
                except StopAsyncIteration:
                    raw = None
            else:
                with anyio.CancelScope(deadline=anyio.current_time() + (deadline - now)) as scope:
                    try:
                        raw = await chunks.__anext__()
                    except StopAsyncIteration:
                        raw = None
                if scope.cancelled_caught:
                    raise _deadline_passed(hard_deadline <= idle_deadline, idle_timeout, max_seconds, seen)
            arrived = time.monotonic()
            payloads = decoder.close() if raw is None else decoder.feed(utf8.decode(raw))
            for payload in payloads:
                events = classify(payload)
                # Anything but a keep-alive shows the agent is moving (an actions-only event too).
                if payload and not (len(events) == 1 and events[0].kind == "heartbeat"):
                    idle_deadline = arrived + idle_timeout
                for event in events:
                    if event.kind != "heartbeat":
                        seen += 1
                    yield event
            if raw is None:
                return
    except httpx2.ReadTimeout as err:  # no byte at all for the read timeout: the idle rule
        raise _deadline_passed(False, idle_timeout, max_seconds, seen) from err
    except httpx2.TransportError as err:
        raise StreamDropped(
            f"The stream from the backend broke ({type(err).__name__}) after {seen} event(s).",
            events_seen=seen,
        ) from err
    except EventTooLarge as err:
        raise StreamDropped(f"The backend sent an oversized stream event: {err}.", events_seen=seen) from err
    finally:
        await chunks.aclose()
        await response.aclose()


def _deadline_passed(hard_cap: bool, idle_timeout: float, max_seconds: float, seen: int) -> StreamDropped:
    if hard_cap:
        message = f"The agent's turn exceeded the {max_seconds:g} s limit; stopped waiting."
    else:
        message = f"No progress from the backend for {idle_timeout:g} s (keep-alives only); stopped waiting."
    return StreamDropped(message, events_seen=seen)
