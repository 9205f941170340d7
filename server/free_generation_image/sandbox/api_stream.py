"""``POST /run_sse`` (contract §2.4, §4): refusals before the stream, then a background turn streamed."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response, StreamingResponse

from free_generation_image.sandbox.agent import Turn, TurnFaults, cost_of, run_turn
from free_generation_image.sandbox.call import Call
from free_generation_image.sandbox.drafts import has_content
from free_generation_image.sandbox.events import ModelError, StreamError
from free_generation_image.sandbox.frames import Framer
from free_generation_image.sandbox.intent import read_intent
from free_generation_image.sandbox.responses import ApiError, invalid
from free_generation_image.sandbox.streams import sse_body
from free_generation_image.sandbox.world import World

_APP_NAME_RE = re.compile(r"^[a-zA-Z0-9_]+$")


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
