"""One API request as handlers see it (:class:`Call`), and the wrapper every API route goes through
(:func:`endpoint`): HTTP-level faults first, refusals become envelopes, one journal entry per request."""

from __future__ import annotations

import http
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from free_generation_image.sandbox.accounts import Token, User, unauthorized
from free_generation_image.sandbox.config import SandboxConfig
from free_generation_image.sandbox.faults import Fault
from free_generation_image.sandbox.journal import summarize_body
from free_generation_image.sandbox.responses import ApiError, Envelope, bad_request, invalid
from free_generation_image.sandbox.world import Session, World

log = logging.getLogger(__name__)


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

    def json(self, *, envelope: Envelope = "code") -> dict[str, Any]:
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
            raise bad_request("request body must be a JSON object", envelope=envelope)
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
        log.info(
            "%s %s -> %d%s",
            request.method,
            call.path,
            response.status_code,
            f" (fault: {', '.join(call.fired)})" if call.fired else "",
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
