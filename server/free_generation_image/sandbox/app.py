"""Back end A's HTTP API (contract §2) over the in-memory world, plus ``/files`` and the control API.

Every API request goes through :func:`endpoint`: HTTP-level faults first, then the handler, then one
journal entry. Handlers raise :class:`ApiError` to refuse; the envelope travels with the error.
"""

from __future__ import annotations

import hashlib
import http
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Match, Route

from free_generation_image.sandbox import control, video
from free_generation_image.sandbox.accounts import CLAIM_TTL_SECONDS, Token, User, iso, unauthorized
from free_generation_image.sandbox.agent import Turn, TurnFaults, cost_of, run_turn
from free_generation_image.sandbox.compose import composition_of
from free_generation_image.sandbox.config import SandboxConfig
from free_generation_image.sandbox.drafts import CANVAS, has_content
from free_generation_image.sandbox.events import ModelError, StreamError
from free_generation_image.sandbox.faults import Fault
from free_generation_image.sandbox.files import StoredFile, byte_range, file_url, key_of
from free_generation_image.sandbox.frames import Framer
from free_generation_image.sandbox.intent import read_intent
from free_generation_image.sandbox.journal import summarize_body
from free_generation_image.sandbox.media import image_size
from free_generation_image.sandbox.renders import TERMINAL, Render, cancel, run_render
from free_generation_image.sandbox.responses import ApiError, Envelope, bad_request, invalid, ok, raw, success
from free_generation_image.sandbox.streams import bytes_body, quiet_injected_drops, sse_body
from free_generation_image.sandbox.world import Session, World

SKILL_HEADERS = ("x-skill-source", "x-skill-version", "x-skill-platform")
FILE_TYPES = {
    **dict.fromkeys(("mp4", "mov", "avi", "webm", "mkv"), "video"),
    **dict.fromkeys(("jpg", "jpeg", "png", "gif", "webp"), "image"),
    **dict.fromkeys(("mp3", "wav", "m4a", "aac"), "audio"),
}
_APP_NAME_RE = re.compile(r"^[a-zA-Z0-9_]+$")
_RENDER_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
_SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._\-]+")
_REMOTE_GUESS: dict[str, dict[str, Any]] = {
    "video": {"duration": 10.0, "width": 1920, "height": 1080, "fps": 30},
    "image": {"width": 1920, "height": 1080},
    "audio": {"duration": 30.0},
}


class Call:
    """One API request as handlers see it, plus what the journal should say about it."""

    def __init__(self, world: World, request: Request, body: bytes) -> None:
        self.world = world
        self.request = request
        self.body = body
        self.path = request.url.path
        self.params: dict[str, Any] = dict(request.path_params)
        self.fired: list[str] = []
        self.message: str | None = None
        self.summary: str | None = None
        self.data: dict[str, Any] = {}

    @property
    def config(self) -> SandboxConfig:
        return self.world.config

    @property
    def base_url(self) -> str:
        """This sandbox as the client reached it (file URLs use the same host)."""
        return str(self.request.base_url).rstrip("/")

    def fault(self, name: str) -> Fault | None:
        """Fire the armed fault ``name`` if it targets this request."""
        fault = self.world.faults.take(name, self.path)
        if fault is not None:
            self.fired.append(name)
        return fault

    def json(self, *, envelope: str = "code") -> dict[str, Any]:
        """The JSON object body ({} when empty); 400 (or 422 for ADK) when it is not one."""
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            if envelope == "detail":
                raise invalid("body", "Input should be a valid dictionary", "dict_type")
            raise bad_request(
                "request body must be a JSON object", envelope="success" if envelope == "success" else "code"
            )
        return value

    def auth(self) -> tuple[Token, User]:
        """The caller's token and user, or 1001."""
        token, user = self.world.accounts.authenticate(self.request.headers.get("authorization"), self.config)
        if self.fault("token_expired"):
            self.world.accounts.expire(token)
            raise unauthorized("token has expired", self.config)
        self.data["user_id"] = user.user_id
        return token, user

    def own_path(self, user: User) -> None:
        """Paths name ``me`` or the caller's own id (contract §1.2); anything else is refused (GUESS)."""
        if self.params.get("user", "me") not in ("me", user.user_id):
            raise ApiError(403, "forbidden: the path names another user", code=1001)

    def session(self, user: User, session_id: str, *, status: int | None = None) -> Session:
        """The caller's session, or 1002 (under ``status``, default ``status_1002``)."""
        session = self.world.sessions.get(session_id)
        if session is not None and session.user_id == user.user_id and self.fault("session_lost"):
            del self.world.sessions[session_id]
            session = None
        if session is None or session.user_id != user.user_id:
            raise ApiError(status or self.config.status_1002, f"Session not found: {session_id}", code=1002)
        self.data["session_id"] = session_id
        return session


Handler = Callable[[Call], Awaitable[Response]]


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: HTTP-level faults, refusals -> envelopes, one journal entry per request."""

    async def run(request: Request) -> Response:
        world: World = request.app.state.world
        call = Call(world, request, await request.body())
        http_fault = world.faults.take_stage("http", call.path)
        try:
            if http_fault is not None:
                call.fired.append(http_fault.name)
                response = _http_fault(http_fault, world.config)
            else:
                response = await handler(call)
        except ApiError as err:
            response = err.response()
        summary = (
            call.summary
            if call.summary is not None
            else summarize_body(request.headers.get("content-type", ""), call.body)
        )
        world.journal.request(
            method=request.method,
            path=call.path,
            status=response.status_code,
            headers=request.headers,
            body=summary,
            message=call.message,
            faults=tuple(call.fired),
            data=call.data,
        )
        return response

    return run


def _http_fault(fault: Fault, config: SandboxConfig) -> Response:
    if fault.name == "rate_limited":
        retry_after = fault.params["retry_after"]
        seconds = config.retry_after_seconds if retry_after is None else retry_after
        return JSONResponse(
            {"code": 429, "message": "Too many requests", "data": None},
            status_code=429,
            headers={"Retry-After": f"{seconds:g}"},
        )
    if fault.name == "server_error":
        status = int(fault.params["status"])
        phrase = http.HTTPStatus(status).phrase if status in http.HTTPStatus._value2member_map_ else "Error"
        page = (
            f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n<center><h1>{status} "
            f"{phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        )
        return HTMLResponse(page, status_code=status)
    return Response(b'{"code":0,"message":"success","data":{"tok', media_type="application/json")


# --- auth, projects --------------------------------------------------------------------------------


async def anonymous_token(call: Call) -> Response:
    """POST /api/auth/anonymous-token (contract §2.1)."""
    client = call.request.client
    token, user = call.world.accounts.issue_anonymous(
        call.request.headers.get("x-client-id"), client.host if client else "unknown", call.config
    )
    call.data["user_id"] = user.user_id
    return ok(
        {
            "token": token.secret,
            "user_id": user.user_id,
            "expires_at": iso(token.expires_at),
            "credits": user.available,
        }
    )


async def create_task(call: Call) -> Response:
    """POST /api/tasks/{user}/with-session/nemo_agent (contract §2.2)."""
    _, user = call.auth()
    call.own_path(user)
    body = call.json()
    session = call.world.new_session(
        user, str(body.get("task_name") or "Untitled project")[:200], str(body.get("language") or "en")
    )
    call.data["session_id"] = session.session_id
    return ok({"task_id": session.task_id, "session_id": session.session_id, "user_id": user.user_id})


async def claim_token(call: Call) -> Response:
    """POST /api/auth/claim-token (contract §2.3)."""
    _, user = call.auth()
    body = call.json()
    session = call.session(user, str(body.get("session_id") or ""))
    if body.get("task_id") not in (None, session.task_id):
        raise ApiError(call.config.status_1002, f"Task not found: {body.get('task_id')}", code=1002)
    claim = call.world.accounts.claim(user, session.task_id, session.session_id)
    return ok({"claim_token": claim.secret, "expires_in": CLAIM_TTL_SECONDS})


async def credits(call: Call) -> Response:
    """GET /api/credits/balance/simple (contract §2.6)."""
    _, user = call.auth()
    return ok(user.balance())


async def state(call: Call) -> Response:
    """GET /api/state/nemo_agent/{user}/{sid}/latest (contract §2.7)."""
    _, user = call.auth()
    call.own_path(user)
    return ok(call.session(user, call.params["sid"]).to_json())


# --- the agent stream -----------------------------------------------------------------------------


def _field(body: dict[str, Any], snake: str, camel: str) -> Any:
    """ADK accepts snake_case and camelCase keys (contract §4.1)."""
    return body.get(snake, body.get(camel))


async def run_sse(call: Call) -> Response:
    """POST /run_sse (contract §2.4, §4): refusals before the stream, then a background turn."""
    config = call.config
    _, user = call.auth()
    body = call.json(envelope="detail")
    message = _field(body, "new_message", "newMessage")
    parts = message.get("parts") if isinstance(message, dict) else None
    text = "\n".join(p["text"] for p in parts or [] if isinstance(p, dict) and isinstance(p.get("text"), str))
    call.message = text or None
    app_name, session_id = _field(body, "app_name", "appName"), _field(body, "session_id", "sessionId")
    if not isinstance(app_name, str) or not _APP_NAME_RE.match(app_name):
        raise invalid("app_name", "app_name is required and must match ^[a-zA-Z0-9_]+$")
    if not isinstance(session_id, str) or not session_id:
        raise invalid("session_id", "Field required", "missing")
    if not text.strip():
        raise invalid("new_message", "new_message must contain a text part")
    if app_name != "nemo_agent":
        raise ApiError(404, f"App not found: {app_name}", envelope="detail")
    if _field(body, "user_id", "userId") not in (None, "me", user.user_id):
        raise ApiError(config.sse_status_1002, f"Session not found: {session_id}", code=1002)
    session = call.session(user, session_id, status=config.sse_status_1002)

    intent = read_intent(text, has_draft=has_content(session.state["draft"]))
    cost = cost_of(intent, config)
    if call.fault("out_of_credits"):
        user.available = 0
    if not user.freeze(cost):
        raise ApiError(
            config.sse_status_2001,
            f"Insufficient credits: this needs {cost}, {user.available} available",
            code=2001,
        )
    turn = Turn(session.session_id, intent, cost, _turn_faults(call))
    drop = call.fault("drop_stream")
    call.world.turns[turn.invocation_id] = turn
    world = call.world
    base_url = call.base_url
    world.spawn(lambda: run_turn(world, turn, session, user, base_url), name=f"turn {turn.invocation_id}")
    call.data.update(invocation_id=turn.invocation_id, kind=intent.kind, cost=cost)

    framer = Framer(
        config.framing,
        turn.invocation_id,
        config.author,
        streaming=_field(body, "streaming", "streaming") is True,
    )
    stream = sse_body(
        turn,
        framer,
        interval=lambda: world.config.heartbeat_interval,
        style=lambda: world.config.heartbeat,
        drop_after=None if drop is None else int(drop.params["after"]),
        on_drop=lambda: _note_drop(world, turn),
    )
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _note_drop(world: World, turn: Turn) -> None:
    world.journal.event("stream.dropped", invocation_id=turn.invocation_id, session_id=turn.session_id)


def _turn_faults(call: Call) -> TurnFaults:
    slow, error_frame, adk_error = (
        call.fault("slow_stream"),
        call.fault("error_frame"),
        call.fault("adk_error"),
    )
    stop: StreamError | ModelError | None = None
    after = 0
    if error_frame is not None:
        stop, after = StreamError(error_frame.params["message"]), int(error_frame.params["after"])
    elif adk_error is not None:
        stop = ModelError(adk_error.params["code"], adk_error.params["message"])
        after = int(adk_error.params["after"])
    return TurnFaults(
        silent=call.fault("silent_close") is not None,
        extra_seconds=float(slow.params["seconds"]) if slow is not None else 0.0,
        stop_after=after,
        stop_with=stop,
        temporary_issue=call.fault("temporary_issue") is not None,
    )


# --- uploads --------------------------------------------------------------------------------------


async def upload(call: Call) -> Response:
    """POST /api/upload-video/nemo_agent/{user}/{sid}: multipart ``files`` or JSON ``urls`` (§2.5)."""
    _, user = call.auth()
    call.own_path(user)
    session = call.session(user, call.params["sid"])
    content_type = call.request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await call.request.form(max_files=64, max_fields=64)
        items = [
            (f.filename or "upload", await f.read())
            for f in form.getlist("files")
            if isinstance(f, UploadFile)
        ]
        call.summary = summarize_body(content_type, b"", multipart_files=[(n, len(d)) for n, d in items])
        if not items:
            raise bad_request("no files: send one or more multipart parts named 'files'")
        for name, data in items:
            _check_upload(call.config, name, len(data))
        first = len(session.state["video_infos"])
        entries = [
            await _register_bytes(call, session, first + i, name, data)
            for i, (name, data) in enumerate(items)
        ]
    else:
        urls = call.json().get("urls")
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise bad_request('send multipart "files" parts, or JSON {"urls": [...], "source_type": "url"}')
        for url in urls:
            _check_upload(call.config, urlsplit(url).path, 0)
        entries = [await _register_url(call, session, url) for url in urls]
    session.state["video_infos"].extend(entries)
    return ok({"files": entries, "session_state_applied": True})


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _check_upload(config: SandboxConfig, name: str, size: int) -> None:
    if _extension(name) not in FILE_TYPES:
        raise ApiError(
            config.status_4001, f"Unsupported file type: {name.rsplit('/', 1)[-1] or name}", code=4001
        )
    if size > config.max_upload_bytes:
        raise ApiError(
            config.status_4002, f"File too large: {size} bytes (limit {config.max_upload_bytes})", code=4002
        )


async def _register_bytes(call: Call, session: Session, slot: int, name: str, data: bytes) -> dict[str, Any]:
    kind = FILE_TYPES[_extension(name)]
    # One folder per upload keeps the original base name, which drafts may cite as /mnt/userdata/<name>.
    key = f"uploads/{session.session_id}/{slot}/{_SAFE_NAME_RE.sub('_', name.rsplit('/', 1)[-1])[-100:]}"
    stored = call.world.files.put(key, data, _content_type(kind, name))
    entry = {
        "filename": name,
        "file_type": kind,
        "cdn_url": file_url(call.base_url, key),
        "hash": _sha256(data),
    }
    return {**entry, **await _probe(call.world, kind, stored)}


async def _register_url(call: Call, session: Session, url: str) -> dict[str, Any]:
    name = urlsplit(url).path.rsplit("/", 1)[-1] or "remote"
    kind = FILE_TYPES[_extension(name)]
    key = key_of(url)
    stored = call.world.files.get(key) if key is not None else None
    entry: dict[str, Any] = {"filename": name, "file_type": kind, "cdn_url": url}
    if stored is None:  # no network here: GUESSed metadata for a file we cannot fetch
        return {**entry, **_REMOTE_GUESS[kind]}
    return {**entry, "hash": _sha256(stored.data), **await _probe(call.world, kind, stored)}


async def _probe(world: World, kind: str, stored: StoredFile) -> dict[str, Any]:
    """Real metadata: images via Pillow; video/audio via PyAV when installed (else left out)."""
    if kind == "image":
        size = image_size(stored.data)
        return {"width": size[0], "height": size[1]} if size else {}
    if not video.available():
        return {}
    info = await world.workers.run(lambda _stop: video.probe(stored.data))
    if info is None:
        return {}
    if kind == "audio":
        return {"duration": round(info.duration, 3)}
    return {
        "duration": round(info.duration, 3),
        "width": info.width,
        "height": info.height,
        "fps": round(info.fps, 3),
    }


def _content_type(kind: str, name: str) -> str:
    ext = _extension(name)
    special = {
        "mov": "video/quicktime",
        "avi": "video/x-msvideo",
        "mkv": "video/x-matroska",
        "jpg": "image/jpeg",
        "mp3": "audio/mpeg",
        "m4a": "audio/mp4",
    }
    return special.get(ext, f"{kind}/{ext}")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- renders --------------------------------------------------------------------------------------


async def render_submit(call: Call, *, legacy: bool = False) -> Response:
    """POST /api/render/proxy/lambda (and legacy /draft): validate, then start the job (§2.8)."""
    config = call.config
    _, user = call.auth()
    plan = call.fault("plan_402")
    if plan is not None:
        envelope: Envelope = "success" if plan.params["envelope"] == "success" else "code"
        raise ApiError(
            402, "Export is not available on the free plan. Upgrade to export.", code=402, envelope=envelope
        )
    if config.require_attribution and not all(call.request.headers.get(h) for h in SKILL_HEADERS):
        raise ApiError(
            402,
            "Export blocked: the request is not attributed to a skill "
            "(X-Skill-Source, X-Skill-Version and X-Skill-Platform are required)",
            code=402,
        )
    body = call.json(envelope="success")
    render_id = body.get("id")
    if not isinstance(render_id, str) or not _RENDER_ID_RE.match(render_id):
        raise bad_request(
            "id is required: a unique string of letters, digits, '_', '-' or '.'", envelope="success"
        )
    output = body["output"] if isinstance(body.get("output"), dict) else {}
    fmt = output.get("format", "mp4")
    if fmt not in ("mp4", "png"):
        raise bad_request(f"unsupported output format: {fmt}", envelope="success")
    session_id = body.get("sessionId")
    session = None
    if session_id is not None:
        session = call.world.sessions.get(str(session_id))
        if session is None or session.user_id != user.user_id:
            raise ApiError(404, f"session not found: {session_id}", envelope="success")
    if render_id in call.world.renders:
        raise ApiError(409, "duplicate render id", envelope="success")
    canvas = session.state["canvas_config"] if session else {}
    size = (int(canvas.get("width", CANVAS["16:9"][0])), int(canvas.get("height", CANVAS["16:9"][1])))
    draft = body.get("draft")
    try:
        comp = composition_of(
            draft if isinstance(draft, dict) else {},
            scale=config.media_scale,
            default_size=size,
            default_fps=config.fps,
        )
    except ValueError as err:
        raise bad_request(str(err), envelope="success") from None
    failure = call.fault("render_failed")
    render = Render(
        render_id,
        user.user_id,
        session.session_id if session else None,
        fmt,
        comp,
        time.time(),
        config.render_seconds,
        call.base_url,
        fail_with=None if failure is None else str(failure.params["error"]),
    )
    world = call.world
    world.renders[render_id] = render
    render.scope = world.spawn(lambda: run_render(world, render), name=f"render {render_id}")
    call.data["render_id"] = render_id
    if legacy:
        return raw({"taskId": render_id, "status": "pending", "progress": 0})
    return success({"id": render_id, "status": "pending", "progress": 5})


def _render_of(call: Call, user: User) -> Render:
    render = call.world.renders.get(call.params["rid"])
    if render is None or render.user_id != user.user_id:
        raise ApiError(404, f"render not found: {call.params['rid']}", envelope="success")
    call.data["render_id"] = render.render_id
    return render


async def render_poll(call: Call, *, legacy: bool = False) -> Response:
    """GET /api/render/proxy/lambda/{rid} in the configured shape (§2.9, §6.2); legacy path: raw."""
    _, user = call.auth()
    render = _render_of(call, user)
    now = time.time()
    if legacy:
        return raw(render.legacy(now))
    data, extras = render.poll_body(call.config.poll_shape, now)
    return raw(extras) if call.config.poll_shape == "raw" else success(data, mirror=extras)


async def render_cancel(call: Call) -> Response:
    """POST /api/render/proxy/lambda/{rid}/cancel (§2.10; response shape GUESS)."""
    _, user = call.auth()
    render = _render_of(call, user)
    if not cancel(render, call.world.journal):
        raise ApiError(409, f"render is already {render.status}", envelope="success")
    return success({"id": render.render_id, "status": "cancelled"})


async def render_download(call: Call) -> Response:
    """GET /api/render/proxy/{rid}/download: the file itself, Bearer-authenticated (§2.11)."""
    _, user = call.auth()
    render = _render_of(call, user)
    stored = call.world.files.get(render.output_key) if render.output_key else None
    if render.status != "completed" or stored is None:
        status = render.status if render.status in TERMINAL else "not completed"
        raise ApiError(404, f"render is {status}", envelope="success")
    return _serve(call, stored, f"{render.render_id}.{render.fmt}")


# --- files ----------------------------------------------------------------------------------------


async def files(call: Call) -> Response:
    """GET /files/{key}: the sandbox's CDN (public, like the real one)."""
    stored = call.world.files.get(call.params["key"])
    if stored is None:
        raise ApiError(404, "Not Found", envelope="detail")
    return _serve(call, stored, call.params["key"].rsplit("/", 1)[-1])


def _serve(call: Call, stored: StoredFile, filename: str) -> Response:
    size = len(stored.data)
    try:
        wanted = byte_range(call.request.headers.get("range"), size)
    except ValueError:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
    start, end = wanted or (0, size - 1)
    chunk = stored.data[start : end + 1]
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(len(chunk)),
        "Content-Disposition": f'inline; filename="{filename}"',
    }
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    status = 206 if wanted is not None else 200
    drop = call.fault("drop_download")
    if drop is not None:
        after = drop.params["after_bytes"]
        body = bytes_body(chunk, drop_after=len(chunk) // 2 if after is None else int(after))
        return StreamingResponse(body, status_code=status, headers=headers, media_type=stored.content_type)
    return Response(chunk, status_code=status, headers=headers, media_type=stored.content_type)


# --- the rest -------------------------------------------------------------------------------------


async def index(call: Call) -> Response:
    """GET /: what this is and how to use it."""
    return JSONResponse(
        {
            "name": "free-generation-image sandbox",
            "about": "A local stand-in for the NemoVideo skill backend: no account, no credits, real files.",
            "use": f"NEMO_API_URL={call.base_url}",
            "control": f"{call.base_url}{control.PREFIX}",
        }
    )


async def unknown(call: Call) -> Response:
    """Anything else: 405 when the path exists with another method, else 404 (journaled either way)."""
    routes = [r for r in call.request.app.routes if getattr(r, "endpoint", None) is not _UNKNOWN]
    if any(r.matches(call.request.scope)[0] == Match.PARTIAL for r in routes):
        raise ApiError(405, "Method Not Allowed", envelope="detail")
    raise ApiError(404, "Not Found", envelope="detail")


_UNKNOWN = endpoint(unknown)


def api_routes() -> list[Route]:
    """Back end A's routes (lambda render paths before the legacy ``{rid}`` catch-alls)."""

    async def legacy_submit(call: Call) -> Response:
        return await render_submit(call, legacy=True)

    async def legacy_poll(call: Call) -> Response:
        return await render_poll(call, legacy=True)

    table: list[tuple[str, Handler, str]] = [
        ("/", index, "GET"),
        ("/api/auth/anonymous-token", anonymous_token, "POST"),
        ("/api/auth/claim-token", claim_token, "POST"),
        ("/api/tasks/{user}/with-session/nemo_agent", create_task, "POST"),
        ("/run_sse", run_sse, "POST"),
        ("/api/upload-video/nemo_agent/{user}/{sid}", upload, "POST"),
        ("/api/credits/balance/simple", credits, "GET"),
        ("/api/state/nemo_agent/{user}/{sid}/latest", state, "GET"),
        ("/api/render/proxy/lambda", render_submit, "POST"),
        ("/api/render/proxy/lambda/{rid}", render_poll, "GET"),
        ("/api/render/proxy/lambda/{rid}/cancel", render_cancel, "POST"),
        ("/api/render/proxy/draft", legacy_submit, "POST"),
        ("/api/render/proxy/{rid}/download", render_download, "GET"),
        ("/api/render/proxy/{rid}", legacy_poll, "GET"),
        ("/files/{key:path}", files, "GET"),
    ]
    return [Route(path, endpoint(handler), methods=[method]) for path, handler, method in table]


def create_app(world: World) -> Starlette:
    """The ASGI app; its lifespan runs the world's background jobs."""

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with world.running():
            yield

    every_method = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    app = Starlette(
        routes=[*api_routes(), *control.routes(), Route("/{path:path}", _UNKNOWN, methods=every_method)],
        lifespan=lifespan,
    )
    app.state.world = world
    quiet_injected_drops()
    return app
