"""The control API under ``/_sandbox`` (faults, journal, config, users, reset) and its Python client.

Tests drive an in-process sandbox and a subprocess one the same way: through :class:`SandboxControl`,
which speaks this JSON API. Control requests are neither journaled nor subject to faults.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from free_generation_image.sandbox.config import SandboxConfig
from free_generation_image.sandbox.faults import FAULTS
from free_generation_image.sandbox.journal import JournalEntry
from free_generation_image.sandbox.world import World

PREFIX = "/_sandbox"


# --- server side ----------------------------------------------------------------------------------


def _world(request: Request) -> World:
    world: World = request.app.state.world
    return world


async def _json(request: Request) -> dict[str, Any]:
    try:
        value = await request.json() if (await request.body()).strip() else {}
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ValueError("the body must be a JSON object")
    return value


def _guarded(
    handler: Callable[[Request], Awaitable[JSONResponse]],
) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def run(request: Request) -> JSONResponse:
        try:
            return await handler(request)
        except (ValueError, TypeError) as err:
            return JSONResponse({"error": str(err)}, status_code=400)
        except KeyError as err:
            return JSONResponse({"error": f"not found: {err.args[0]}"}, status_code=404)

    return run


async def overview(request: Request) -> JSONResponse:
    """GET /_sandbox: config, armed faults, fault kinds, counts."""
    world = _world(request)
    return JSONResponse(
        {
            "config": world.config.to_json(),
            "faults": [f.to_json() for f in world.faults.armed()],
            "fault_kinds": {
                name: {"stage": k.stage, "doc": k.doc, "params": {p: d for p, (_, d) in k.params.items()}}
                for name, k in FAULTS.items()
            },
            "counts": {
                "users": len(world.accounts.users),
                "sessions": len(world.sessions),
                "running_turns": len(world.turns),
                "renders": len(world.renders),
            },
        }
    )


async def get_config(request: Request) -> JSONResponse:
    """GET /_sandbox/config."""
    return JSONResponse(_world(request).config.to_json())


async def patch_config(request: Request) -> JSONResponse:
    """PATCH /_sandbox/config: apply changes (validated); host/port cannot change while running."""
    world = _world(request)
    changes = await _json(request)
    if {"host", "port"} & set(changes):
        raise ValueError("host and port cannot change while the sandbox runs")
    world.config = world.config.with_changes(**changes)
    return JSONResponse(world.config.to_json())


async def add_fault(request: Request) -> JSONResponse:
    """POST /_sandbox/faults {"name", "times"?, "path"?, "params"?}."""
    body = await _json(request)
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise ValueError("params must be an object")
    fault = _world(request).faults.add(
        str(body.get("name")), times=body.get("times", 1), path=body.get("path"), **params
    )
    return JSONResponse(fault.to_json(), status_code=201)


async def list_faults(request: Request) -> JSONResponse:
    """GET /_sandbox/faults."""
    return JSONResponse({"armed": [f.to_json() for f in _world(request).faults.armed()]})


async def clear_faults(request: Request) -> JSONResponse:
    """DELETE /_sandbox/faults."""
    _world(request).faults.clear()
    return JSONResponse({"armed": []})


async def journal(request: Request) -> JSONResponse:
    """GET /_sandbox/journal?path=...&kind=request|event."""
    kind = request.query_params.get("kind")
    if kind is not None and kind not in ("request", "event"):
        raise ValueError("kind must be request or event")
    entries = _world(request).journal.entries(
        path=request.query_params.get("path"),
        kind="request" if kind == "request" else "event" if kind else None,
    )
    return JSONResponse({"entries": [e.to_json() for e in entries]})


async def clear_journal(request: Request) -> JSONResponse:
    """DELETE /_sandbox/journal."""
    _world(request).journal.clear()
    return JSONResponse({"entries": []})


async def reset(request: Request) -> JSONResponse:
    """POST /_sandbox/reset: forget everything, cancel running work, restore the initial config."""
    _world(request).reset()
    return JSONResponse({"reset": True})


async def new_user(request: Request) -> JSONResponse:
    """POST /_sandbox/users {"credits"?, "anonymous"?}: a user + token outside the quota."""
    world = _world(request)
    body = await _json(request)
    credits = body.get("credits", world.config.starting_credits)
    if not isinstance(credits, int) or isinstance(credits, bool) or credits < 0:
        raise ValueError("credits must be a non-negative integer")
    token, user = world.accounts.create_user(
        credits=credits,
        anonymous=bool(body.get("anonymous", True)),
        ttl_seconds=world.config.token_ttl_seconds,
    )
    return JSONResponse({"user_id": user.user_id, "token": token.secret, **user.balance()}, status_code=201)


async def get_user(request: Request) -> JSONResponse:
    """GET /_sandbox/users/{user_id}."""
    return JSONResponse(_world(request).accounts.users[request.path_params["user_id"]].to_json())


async def patch_user(request: Request) -> JSONResponse:
    """PATCH /_sandbox/users/{user_id} {"available": n}: set the spendable credits."""
    user = _world(request).accounts.users[request.path_params["user_id"]]
    available = (await _json(request)).get("available")
    if not isinstance(available, int) or isinstance(available, bool) or available < 0:
        raise ValueError("available must be a non-negative integer")
    user.available = available
    return JSONResponse(user.to_json())


async def wait_idle(request: Request) -> JSONResponse:
    """POST /_sandbox/wait-idle {"timeout": s}: wait until no turn or render runs."""
    timeout = (await _json(request)).get("timeout", 10.0)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout < 0:
        raise ValueError("timeout must be a non-negative number")
    return JSONResponse({"idle": await _world(request).wait_idle(float(timeout))})


def routes() -> list[Route]:
    """The ``/_sandbox`` routes."""
    table: list[tuple[str, Callable[[Request], Awaitable[JSONResponse]], list[str]]] = [
        ("", overview, ["GET"]),
        ("/config", get_config, ["GET"]),
        ("/config", patch_config, ["PATCH"]),
        ("/faults", list_faults, ["GET"]),
        ("/faults", add_fault, ["POST"]),
        ("/faults", clear_faults, ["DELETE"]),
        ("/journal", journal, ["GET"]),
        ("/journal", clear_journal, ["DELETE"]),
        ("/reset", reset, ["POST"]),
        ("/users", new_user, ["POST"]),
        ("/users/{user_id}", get_user, ["GET"]),
        ("/users/{user_id}", patch_user, ["PATCH"]),
        ("/wait-idle", wait_idle, ["POST"]),
    ]
    return [Route(PREFIX + path, _guarded(handler), methods=methods) for path, handler, methods in table]


# --- client side ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """A user made through the control API."""

    user_id: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class UserInfo:
    """A user's credits."""

    user_id: str
    anonymous: bool
    available: int
    frozen: int
    total: int


class SandboxControl:
    """Drive a running sandbox (in-process or another process) through its control API."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        # Loading the TLS trust store costs ~50 ms and plain-HTTP sandboxes never use it.
        self._http = httpx2.Client(
            base_url=self.url + PREFIX,
            timeout=timeout,
            trust_env=False,
            verify=not self.url.startswith("http://"),
        )

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        response = self._http.request(method, path, json=body, params=params, **extra)
        if response.status_code >= 400:
            message = response.json().get("error", response.text)
            raise (KeyError(message) if response.status_code == 404 else ValueError(message))
        return response.json()

    def inject(
        self, name: str, times: int | None = 1, path: str | None = None, **params: Any
    ) -> dict[str, Any]:
        """Arm fault ``name`` for ``times`` matching requests (``None`` = always); returns the armed fault."""
        result: dict[str, Any] = self._call(
            "POST", "/faults", {"name": name, "times": times, "path": path, "params": params}
        )
        return result

    def faults(self) -> list[dict[str, Any]]:
        """Faults still armed."""
        armed: list[dict[str, Any]] = self._call("GET", "/faults")["armed"]
        return armed

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self._call("DELETE", "/faults")

    def journal(self, path: str | None = None, kind: str | None = None) -> list[JournalEntry]:
        """Journal entries in order, optionally those whose path contains ``path`` and/or of one kind."""
        params = {k: v for k, v in (("path", path), ("kind", kind)) if v is not None}
        return [JournalEntry.from_json(e) for e in self._call("GET", "/journal", params=params)["entries"]]

    def requests(self, path: str | None = None, method: str | None = None) -> list[JournalEntry]:
        """Only request entries, optionally filtered by path substring and method."""
        return [e for e in self.journal(path, "request") if method is None or e.method == method]

    def clear_journal(self) -> None:
        """Forget the journal."""
        self._call("DELETE", "/journal")

    def reset(self) -> None:
        """Forget everything, cancel running work, restore the initial config."""
        self._call("POST", "/reset")

    def configure(self, **changes: Any) -> SandboxConfig:
        """Change settings of the running sandbox (e.g. ``render_seconds=37``); returns the new config."""
        return SandboxConfig(**self._call("PATCH", "/config", changes))

    def get_config(self) -> SandboxConfig:
        """The current settings."""
        return SandboxConfig(**self._call("GET", "/config"))

    def new_user(self, credits: int | None = None, *, anonymous: bool = True) -> Credentials:
        """A user and token that bypass the anonymous-token quota."""
        body: dict[str, Any] = {"anonymous": anonymous}
        if credits is not None:
            body["credits"] = credits
        result = self._call("POST", "/users", body)
        return Credentials(result["user_id"], result["token"])

    def user(self, user_id: str) -> UserInfo:
        """A user's credits."""
        return UserInfo(**self._call("GET", f"/users/{user_id}"))

    def set_credits(self, user_id: str, available: int) -> UserInfo:
        """Set a user's spendable credits."""
        return UserInfo(**self._call("PATCH", f"/users/{user_id}", {"available": available}))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no turn or render runs; False on timeout."""
        idle: bool = self._call("POST", "/wait-idle", {"timeout": timeout}, timeout=timeout + 10)["idle"]
        return idle

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()
