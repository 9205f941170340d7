"""A hostile NemoVideo look-alike on loopback: the API answers well, the media it points at do not.

Each generation adds the media URLs the test chose (``Hostile.media``) to the project; each export
completes with ``Hostile.render_url``. Under ``/f/<case>`` it serves the cases of :data:`CASES`: lying
names and types, error pages, endless bodies, redirects to other schemes. Every request is recorded
with its headers, so a test can also see what we sent to a media host.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.lowlevel
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from free_generation_image.serving import bind, url_of

TOKEN = "nmv_usr_" + "h0st1le" * 6
SESSION_ID = "5529798706024415232"
TASK_ID = "task_hostile"


def png_bytes(size: tuple[int, int] = (48, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "purple").save(out, "PNG")
    return out.getvalue()


PNG = png_bytes()
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x00\x08free" + bytes(4000)
HTML = b"<!doctype html><html><body><h1>502 Bad Gateway</h1></body></html>\n"


def _file(body: bytes, content_type: str, disposition: str | None = None) -> Response:
    headers = {"Content-Disposition": disposition} if disposition else {}
    return Response(body, media_type=content_type, headers=headers)


async def _endless() -> AsyncIterator[bytes]:
    yield PNG[:64]
    chunk = bytes(64 * 1024)
    while True:
        yield chunk
        await anyio.lowlevel.checkpoint()


async def _slowly(data: bytes, pieces: int, gap: float) -> AsyncIterator[bytes]:
    step = -(-len(data) // pieces)
    for start in range(0, len(data), step):
        yield data[start : start + step]
        await anyio.sleep(gap)


@dataclass
class Hostile:
    """What the fake backend will say next, and what it was asked."""

    url: str = ""
    media: list[dict[str, Any]] = field(default_factory=list)  # added to the project by each prompt
    draft_title: str = "Hostile export"
    render_url: str | None = None  # the export's outputUrl
    download: tuple[bytes, str] = (MP4, "video/mp4")  # the authenticated download endpoint's answer
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    sent_bytes: dict[str, int] = field(default_factory=dict)  # per /f/ case, what an endless body sent

    def reset(self) -> None:
        """Forget the project and the requests; no media, no render URL, a valid download."""
        self.media, self.state, self.requests, self.sent_bytes = [], {}, [], {}
        self.draft_title, self.render_url, self.download = "Hostile export", None, (MP4, "video/mp4")

    def file_url(self, case: str) -> str:
        return f"{self.url}/f/{case}"

    def media_hosts_saw(self) -> list[dict[str, str]]:
        """Headers of every request to the media paths (``/f/...``)."""
        return [headers for _, path, headers in self.requests if path.startswith("/f/")]

    def draft(self, src: str) -> dict[str, Any]:
        """A timeline ready to export: one image segment, titled ``draft_title``."""
        segment = {"id": "s1", "s": 0, "d": 2000, "src": src, "kind": "image"}
        return {"t": [{"id": "v", "tt": 0, "sg": [segment]}], "d": 2000, "m": {"title": self.draft_title}}


def _ok(data: Any) -> JSONResponse:
    return JSONResponse({"code": 0, "message": "success", "data": data})


def build_app(h: Hostile) -> Starlette:
    """The routes of back end A that a generation and an export use, plus the hostile files."""

    async def record(request: Request) -> None:
        h.requests.append((request.method, request.url.path, dict(request.headers)))

    async def token(request: Request) -> Response:
        await record(request)
        return _ok({"token": TOKEN, "user_id": "anon_hostile00000000", "expires_at": "2999-01-01T00:00:00Z"})

    async def task(request: Request) -> Response:
        await record(request)
        return _ok({"task_id": TASK_ID, "session_id": SESSION_ID})

    async def credits(request: Request) -> Response:
        await record(request)
        return _ok({"available": 1000, "frozen": 0, "total": 1000})

    async def state(request: Request) -> Response:
        await record(request)
        return _ok({"session_id": SESSION_ID, "task_id": TASK_ID, "state": h.state})

    async def run_sse(request: Request) -> Response:
        await record(request)
        media = h.state.setdefault("generated_media", [])
        media.extend(dict(m, id=f"gm_{len(media) + i}") for i, m in enumerate(h.media))
        if h.media:
            h.state["draft"] = h.draft(h.media[0]["url"])
        text = {"author": "nemo_agent", "content": {"role": "model", "parts": [{"text": "Here you go."}]}}
        body = f"data: {json.dumps(text)}\n\n".encode()
        return Response(body, media_type="text/event-stream")

    async def submit(request: Request) -> Response:
        await record(request)
        rid = (await request.json()).get("id")
        return JSONResponse({"success": True, "data": {"id": rid, "status": "pending", "progress": 0}})

    async def poll(request: Request) -> Response:
        await record(request)
        data = {"id": request.path_params["rid"], "status": "completed", "progress": 100}
        if h.render_url is not None:
            data["outputUrl"] = h.render_url
        return JSONResponse({"success": True, "data": data})

    async def download(request: Request) -> Response:
        await record(request)
        body, content_type = h.download
        return Response(body, media_type=content_type)

    async def files(request: Request) -> Response:
        await record(request)
        case = request.path_params["case"]
        if case == "endless":

            async def counted() -> AsyncIterator[bytes]:
                async for chunk in _endless():
                    h.sent_bytes[case] = h.sent_bytes.get(case, 0) + len(chunk)
                    yield chunk

            return StreamingResponse(counted(), media_type="image/png")
        if case == "slow":
            return StreamingResponse(_slowly(PNG * 40, 10, 0.03), media_type="image/png")
        if case == "redirect-loop":
            return RedirectResponse(f"{h.url}/f/redirect-loop", status_code=302)
        if case in REDIRECTS:
            return RedirectResponse(REDIRECTS[case].format(url=h.url), status_code=302)
        body, content_type, disposition = CASES[case]
        return _file(body, content_type, disposition)

    routes = [
        Route("/api/auth/anonymous-token", token, methods=["POST"]),
        Route("/api/tasks/me/with-session/nemo_agent", task, methods=["POST"]),
        Route("/api/credits/balance/simple", credits, methods=["GET"]),
        Route("/api/state/nemo_agent/me/{sid}/latest", state, methods=["GET"]),
        Route("/run_sse", run_sse, methods=["POST"]),
        Route("/api/render/proxy/lambda", submit, methods=["POST"]),
        Route("/api/render/proxy/lambda/{rid}", poll, methods=["GET"]),
        Route("/api/render/proxy/{rid}/download", download, methods=["GET"]),
        Route("/f/{case}", files, methods=["GET"]),
    ]
    return Starlette(routes=routes)


# Served as (body, Content-Type, Content-Disposition).
CASES: dict[str, tuple[bytes, str, str | None]] = {
    "png": (PNG, "image/png", None),
    "traversal-name": (PNG, "image/png", 'attachment; filename="../../../../outside.png"'),
    "absolute-name": (PNG, "image/png", 'attachment; filename="/etc/cron.d/outside.png"'),
    "reserved-name": (PNG, "image/png", 'attachment; filename="CON.png"'),
    "bidi-name": (PNG, "image/png", "attachment; filename*=UTF-8''%E2%80%AEgnp.exe%00.png"),
    "html-page": (HTML, "text/html", None),
    "html-as-png": (HTML, "image/png", None),
    "json-error": (b'{"error": "expired signature"}', "application/json", None),
    "video-for-image": (MP4, "video/mp4", None),
    "empty": (b"", "image/png", None),
    "mp4": (MP4, "video/mp4", 'attachment; filename="..\\\\..\\\\render.mp4"'),
}
REDIRECTS: dict[str, str] = {
    "redirect-ok": "{url}/f/png",
    "redirect-file": "file:///etc/passwd",
    "redirect-ftp": "ftp://127.0.0.1/outside.png",
    "redirect-data": "data:image/png;base64,iVBORw0KGgo=",
}


@contextmanager
def run_hostile() -> Iterator[Hostile]:
    """Serve a :class:`Hostile` backend on a free loopback port in a background thread."""
    hostile = Hostile()
    sock = bind("127.0.0.1", 0)
    hostile.url = url_of(sock)
    config = uvicorn.Config(
        build_app(hostile), log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the hostile backend did not start")
            time.sleep(0.01)
        yield hostile
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
