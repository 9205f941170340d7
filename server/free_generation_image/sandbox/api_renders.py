"""Render submit, poll, cancel and download (contract §2.8-2.12, §6), legacy paths included."""

from __future__ import annotations

import re
import time

from starlette.responses import Response

from free_generation_image.sandbox.accounts import User
from free_generation_image.sandbox.api_files import serve
from free_generation_image.sandbox.call import Call
from free_generation_image.sandbox.compose import composition_of
from free_generation_image.sandbox.drafts import CANVAS
from free_generation_image.sandbox.renders import TERMINAL, Render, cancel, run_render
from free_generation_image.sandbox.responses import ApiError, Envelope, bad_request, raw, success

SKILL_HEADERS = ("x-skill-source", "x-skill-version", "x-skill-platform")
_RENDER_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


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
    return serve(call, stored, f"{render.render_id}.{render.fmt}")
