"""The servers the benchmarks talk to, each in a process of its own so that its CPU time never
competes with the measured client for the GIL:

    python -m bench.servers sandbox '{"render_seconds": 7}'   # the sandbox, any SandboxConfig knobs
    python -m bench.servers stream 100000                      # one pre-built ADK /run_sse turn
    python -m bench.servers transfer DIR                       # files of DIR, and an upload sink

Each prints its URL as the first line on stdout once it accepts connections, and runs until SIGTERM.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any, Final

import uvicorn

from bench.adk_stream import build
from free_generation_image.sandbox.config import SandboxConfig
from free_generation_image.sandbox.runner import serve
from free_generation_image.serving import bind, url_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

STREAM_WRITE: Final = 64 * 1024  # what a busy server's socket writes look like on loopback
FILE_CHUNK: Final = 256 * 1024
FILES_PREFIX: Final = "/files/"


async def _drain(receive: Receive) -> int:
    """Read the whole request body, keeping none of it; its size."""
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            return size


def _ok(data: dict[str, Any]) -> dict[str, Any]:
    """The backend's success envelope (contract §1)."""
    return {"code": 0, "message": "success", "data": data}


async def _json(send: Send, body: dict[str, Any], status: int = 200) -> None:
    raw = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})


def stream_app(body: bytes) -> ASGIApp:
    """An ASGI app answering every request with ``body`` as an event stream (chunked, like a live turn)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await _drain(receive)  # the request (the prompt) is not needed
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        view = memoryview(body)
        for start in range(0, len(body), STREAM_WRITE):
            chunk = bytes(view[start : start + STREAM_WRITE])
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


def transfer_app(folder: Path) -> ASGIApp:
    """Only the wire work of a transfer, so a client's share is not blurred by a backend's:

    ``GET /files/NAME`` streams ``folder/NAME``; any other GET answers a credit balance (the clients'
    warm-up call); a POST is read to the end and answered with the backend's upload receipt.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        received = await _drain(receive)
        if scope["method"] == "POST":
            entry = {"filename": "upload.mp4", "file_type": "video", "cdn_url": "http://sink/upload.mp4"}
            await _json(send, _ok({"files": [entry], "bytes": received}))
            return
        if not path.startswith(FILES_PREFIX):
            await _json(send, _ok({"available": 1, "frozen": 0, "total": 1}))
            return
        file = folder / Path(path[len(FILES_PREFIX) :]).name
        if not file.is_file():
            await _json(send, {"detail": "Not Found"}, status=404)
            return
        headers = [(b"content-type", b"video/mp4"), (b"content-length", str(file.stat().st_size).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        with file.open("rb") as source:  # a bench server: blocking reads from the page cache are fine
            while chunk := source.read(FILE_CHUNK):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


def _announce(line: str) -> None:
    print(line, flush=True)


def _run(app: ASGIApp, extra: str = "") -> None:
    """Serve ``app`` on a free loopback port until stopped; announce the URL (and ``extra``)."""
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    _announce(f"{url_of(sock)} {extra}".strip())
    uvicorn.Server(config).run(sockets=[sock])


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    kind, arg = argv
    if kind == "sandbox":
        serve(SandboxConfig(**json.loads(arg)), _announce)
    elif kind == "stream":
        built = build(int(arg))
        # The counts go with the URL, so readers can check they parsed every event.
        _run(stream_app(built.body), f"{built.events} {built.heartbeats}")
    elif kind == "transfer":
        _run(transfer_app(Path(arg)))
    else:
        raise SystemExit(f"unknown server {kind!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
