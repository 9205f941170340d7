"""Response bodies that unfold over time: the ``/run_sse`` stream and file downloads, both of which
can be cut mid-way on purpose (faults ``drop_stream`` / ``drop_download``).

Cutting is done by raising :class:`InjectedDrop` inside the body: the server then closes the socket
without finishing the response, which is what a client sees when a proxy or network drops it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from free_generation_image.sandbox.agent import Turn
from free_generation_image.sandbox.config import HeartbeatStyle
from free_generation_image.sandbox.frames import Framer, heartbeat

CHUNK = 64 * 1024


class InjectedDrop(Exception):
    """Raised inside a response body to cut the connection."""


def _is_drop(exc: BaseException | None) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(_is_drop(e) for e in exc.exceptions)
    return isinstance(exc, InjectedDrop)


class _QuietDrops(logging.Filter):
    """Keeps the server's "Exception in ASGI application" log quiet for drops we caused."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and _is_drop(record.exc_info[1]))


_FILTER = _QuietDrops()


def quiet_injected_drops() -> None:
    """Install the filter on uvicorn's error logger (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


async def sse_body(
    turn: Turn,
    framer: Framer,
    *,
    interval: Callable[[], float],
    style: Callable[[], HeartbeatStyle],
    drop_after: int | None,
    on_drop: Callable[[], None],
) -> AsyncIterator[bytes]:
    """Frames of ``turn`` as they come, heartbeats while idle; cut after ``drop_after`` events."""
    if drop_after is not None and drop_after <= 0:
        # The headers are out, so the agent has the prompt; the client sees the stream break at once.
        on_drop()
        raise InjectedDrop("stream dropped before its first event")
    sent = 0
    async for event in turn.follow(interval):
        if event is None:
            yield heartbeat(style())
            continue
        for frame in framer.encode(event):
            yield frame
        sent += 1
        if drop_after is not None and sent >= drop_after:
            on_drop()
            raise InjectedDrop(f"stream dropped after {sent} events")


async def bytes_body(data: bytes, *, drop_after: int | None = None) -> AsyncIterator[bytes]:
    """``data`` in chunks; cut after ``drop_after`` bytes."""
    limit = len(data) if drop_after is None else min(drop_after, len(data))
    for start in range(0, limit, CHUNK):
        yield data[start : min(start + CHUNK, limit)]
    if drop_after is not None:
        raise InjectedDrop(f"download dropped after {limit} bytes")
