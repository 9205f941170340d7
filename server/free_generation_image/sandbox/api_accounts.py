"""Anonymous tokens, projects (sessions), claim tokens, credits and state (contract §2.1-2.3, §2.6-2.7)."""

from __future__ import annotations

from starlette.responses import Response

from free_generation_image.sandbox.accounts import CLAIM_TTL_SECONDS, iso
from free_generation_image.sandbox.call import Call
from free_generation_image.sandbox.responses import ApiError, ok


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
