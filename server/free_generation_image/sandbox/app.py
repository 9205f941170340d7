"""Back end A's HTTP API (contract §2) as one Starlette app: the route table, plus ``/files`` and the
control API. The handlers live in one module per resource (``api_*.py``); every API route goes
through :func:`call.endpoint`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

import free_generation_image.sandbox.control as control
from free_generation_image.sandbox.api_accounts import (
    anonymous_token,
    claim_token,
    create_task,
    credits,
    state,
)
from free_generation_image.sandbox.api_files import files
from free_generation_image.sandbox.api_renders import (
    render_cancel,
    render_download,
    render_poll,
    render_submit,
)
from free_generation_image.sandbox.api_stream import run_sse
from free_generation_image.sandbox.api_uploads import upload
from free_generation_image.sandbox.call import Call, Handler, endpoint
from free_generation_image.sandbox.responses import ApiError
from free_generation_image.sandbox.streams import quiet_injected_drops
from free_generation_image.sandbox.world import World


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
