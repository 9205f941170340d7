"""The servers the benchmarks talk to, each in a process of its own so that its CPU time never
competes with the measured client for the GIL:

    python -m bench.servers sandbox '{"render_seconds": 7}'   # the sandbox, any SandboxConfig knobs
    python -m bench.servers stream 100000                      # one pre-built ADK /run_sse turn

Each prints its URL as the first line on stdout once it accepts connections, and runs until SIGTERM.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

import uvicorn

from bench.adk_stream import build
from free_generation_image.sandbox.config import SandboxConfig
from free_generation_image.sandbox.runner import bind, serve, url_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

STREAM_WRITE: Final = 64 * 1024  # what a busy server's socket writes look like on loopback


def stream_app(body: bytes) -> ASGIApp:
    """An ASGI app answering every request with ``body`` as an event stream (chunked, like a live turn)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass  # the request body (the prompt) is not needed
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        view = memoryview(body)
        for start in range(0, len(body), STREAM_WRITE):
            chunk = bytes(view[start : start + STREAM_WRITE])
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


def _announce(url: str) -> None:
    print(url, flush=True)


def serve_stream(events: int) -> None:
    """Serve a stream of ``events`` events on a free loopback port until stopped."""
    built = build(events)
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(stream_app(built.body), log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    # The counts go with the URL, so readers can check they parsed every event.
    _announce(f"{url_of(sock)} {built.events} {built.heartbeats}")
    server.run(sockets=[sock])


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    kind, arg = argv
    if kind == "sandbox":
        serve(SandboxConfig(**json.loads(arg)), _announce)
    elif kind == "stream":
        serve_stream(int(arg))
    else:
        raise SystemExit(f"unknown server {kind!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
