"""The control API under ``/_sandbox``: faults, journal, config, users, reset, wait-idle, as JSON.

Control requests are neither journaled nor subject to faults. ``control_client.SandboxControl``
speaks this API, so an in-process sandbox and a subprocess one are driven the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from free_generation_image.sandbox.faults import FAULTS
from free_generation_image.sandbox.world import World

PREFIX = "/_sandbox"


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
