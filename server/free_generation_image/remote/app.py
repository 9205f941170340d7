"""The hosted server: one Starlette app with MCP at /mcp, OAuth, discovery, health.

Request path for /mcp: request id + JSON log line -> bearer authentication (our OAuth access token, or a
NemoVideo token checked against the backend) -> 401 with the discovery header when absent or invalid ->
per-user rate limit -> the user's own Service leased from the pool -> the SDK's Streamable HTTP handler.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx2
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.routes import (
    build_resource_metadata_url,
    create_auth_routes,
    create_protected_resource_routes,
)
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from free_generation_image.mcp_server import build_server
from free_generation_image.nemo.transport import new_http_client
from free_generation_image.remote import card, logs
from free_generation_image.remote.config import RemoteConfig
from free_generation_image.remote.consent import ConsentPage
from free_generation_image.remote.db import Database, OAuthStore
from free_generation_image.remote.identity import NemoTokenChecker, UserAccess
from free_generation_image.remote.limits import Limiter, RateLimiter
from free_generation_image.remote.oauth import ACCESS_PREFIX, CONSENT_PATH, OAuthProvider
from free_generation_image.remote.present import PathScrubber
from free_generation_image.remote.users import RemoteService, ServiceFactory, UserPool
from free_generation_image.remote.wording import remote_wording
from free_generation_image.service import Service
from free_generation_image.skillmeta import SKILL
from free_generation_image.sqlitestore import SqliteHub
from free_generation_image.stores import StoreHub

log = logging.getLogger(__name__)

SERVICE_KEY = "fgi.service"  # where the user's Service rides in the ASGI scope of an /mcp request
PURGE_SECONDS = 600.0


class Verifier:
    """The SDK's TokenVerifier: our opaque OAuth access tokens, else a NemoVideo token."""

    def __init__(self, provider: OAuthProvider, checker: NemoTokenChecker) -> None:
        self.provider = provider
        self.checker = checker

    async def verify_token(self, token: str) -> UserAccess | None:
        if token.startswith(ACCESS_PREFIX):
            return await self.provider.load_access_token(token)
        return await self.checker.verify(token)


class UserGate:
    """After authentication: the per-user request limit, then the user's own Service for this request."""

    def __init__(self, app: ASGIApp, pool: UserPool, limiter: Limiter) -> None:
        self.app = app
        self.pool = pool
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        access = user.access_token if isinstance(user, AuthenticatedUser) else None
        if not isinstance(access, UserAccess):  # RequireAuthMiddleware runs first; never reached
            await JSONResponse({"error": "invalid_token"}, status_code=401)(scope, receive, send)
            return
        if scope.get("method") == "POST":
            wait = await self.limiter.acquire(access.identity)
            if wait > 0:
                log.info("rate limited", extra={"retry_after": round(wait, 1)})
                response = JSONResponse(
                    {
                        "error": "rate_limited",
                        "error_description": f"Too many requests; retry in {wait:.0f} s",
                    },
                    status_code=429,
                    headers={"Retry-After": str(max(1, round(wait)))},
                )
                await response(scope, receive, send)
                return
        async with self.pool.lease(access) as service:
            scope[SERVICE_KEY] = service
            await self.app(scope, receive, send)


class RequestLog:
    """Gives every request an id (echoed as X-Request-Id) and writes one JSON line when it ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex[:16]
        token = logs.request_id.set(rid)
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            user = scope.get("user")
            access = user.access_token if isinstance(user, AuthenticatedUser) else None
            log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "ms": logs.now_ms(start),
                    # a short, keyed hash: enough to follow one user's requests, useless to anyone else
                    "user": access.identity[-10:] if isinstance(access, UserAccess) else None,
                    "client_id": access.client_id if isinstance(access, UserAccess) else None,
                },
            )
            logs.request_id.reset(token)


def _service_for(ctx: Context) -> Service:
    request = ctx.request_context.request
    scope = getattr(request, "scope", None)
    service = scope.get(SERVICE_KEY) if isinstance(scope, dict) else None
    if not isinstance(service, Service):
        raise RuntimeError("no authenticated user on this request")
    return service


def _scrubbing(scrubber: PathScrubber) -> Any:
    """SDK server middleware: tool results leave without the server's paths."""

    async def scrub(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method == "tools/call" and isinstance(result, dict):
            return scrubber.tool_result(result)
        return result

    return scrub


def _security(config: RemoteConfig) -> TransportSecuritySettings | None:
    """DNS-rebinding protection: on loopback by default, or for the hosts in FGI_ALLOWED_HOSTS."""
    if config.trusted_hosts:
        hosts = list(config.trusted_hosts)
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=hosts,
            allowed_origins=[f"https://{h}" for h in hosts] + [f"http://{h}" for h in hosts],
        )
    return None


def build_app(
    config: RemoteConfig,
    *,
    service_factory: ServiceFactory = RemoteService,
    http: httpx2.AsyncClient | None = None,
) -> Starlette:
    """The whole hosted server as one ASGI app (uvicorn runs it; tests run it on a free port)."""
    from free_generation_image.remote.secrets import Keyring

    config.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    keyring = Keyring(config.secret_key)
    db: OAuthStore
    if config.redis_url:
        from free_generation_image.redisstore.oauth import RedisOAuthStore

        db = RedisOAuthStore(config.redis_url)  # a grant made through one replica works on all
    else:
        db = Database(config.state_dir / "remote.db")
    shared_http = http or new_http_client()
    checker = NemoTokenChecker(
        config.base, keyring, shared_http, config.state_dir / "verify", ttl=config.bearer_cache_seconds
    )
    provider = OAuthProvider(
        db,
        keyring,
        issuer=config.url,
        resource=config.mcp_url,
        access_ttl=config.access_token_ttl,
        refresh_ttl=config.refresh_token_ttl,
    )
    # Every user's jobs and project pointer: Redis when replicas share them, else one SQLite file (WAL).
    hub: StoreHub
    if config.redis_url:
        from free_generation_image.redisstore import RedisHub

        hub = RedisHub(config.redis_url, lease_seconds=config.lease_seconds)
    else:
        hub = SqliteHub(config.state_dir / "state.db", config.state_dir / "locks")
    pool = UserPool(
        config.base,
        config.state_dir,
        keyring,
        shared_http,
        max_open=config.max_open_users,
        idle_seconds=config.idle_seconds,
        max_file_bytes=int(config.user_files_mb * 1024 * 1024),
        factory=service_factory,
        hub=hub,
    )
    limiter: Limiter
    if config.redis_url:
        from free_generation_image.redisstore.limits import RedisRateLimiter

        limiter = RedisRateLimiter(config.redis_url, config.rate_per_minute, config.rate_burst)
    else:
        limiter = RateLimiter(config.rate_per_minute, config.rate_burst)

    mcp = build_server(config.base, service_for=_service_for)
    mcp.middleware.append(_scrubbing(PathScrubber(str(config.state_dir.resolve()))))
    mcp.middleware.append(remote_wording)
    mcp.streamable_http_app(
        stateless_http=config.stateless, host=config.host, transport_security=_security(config)
    )
    manager = mcp.session_manager
    resource_metadata = build_resource_metadata_url(AnyHttpUrl(config.mcp_url))
    guarded = RequireAuthMiddleware(
        UserGate(StreamableHTTPASGIApp(manager), pool, limiter), [], resource_metadata
    )
    consent = ConsentPage(provider, checker, config.base, shared_http, action=config.url + CONSENT_PATH)
    card_doc = card.server_card(config.mcp_url, str(resource_metadata), config.url)

    async def healthz(request: Request) -> Response:
        body: dict[str, Any] = {"status": "ok", "version": SKILL.version, **pool.stats()}
        import anyio.to_thread

        body["store"] = "ok" if await anyio.to_thread.run_sync(hub.ping) else "unreachable"
        if body["store"] != "ok":
            return JSONResponse({**body, "status": "degraded"}, status_code=503)
        return JSONResponse(body)

    async def server_card(request: Request) -> Response:
        return Response(json.dumps(card_doc), media_type=card.MEDIA_TYPE, headers=_public())

    async def ai_catalog(request: Request) -> Response:
        doc = card.ai_catalog(config.mcp_url + "/server-card")
        return Response(json.dumps(doc), media_type=card.CATALOG_MEDIA_TYPE, headers=_public())

    routes: list[Route] = [
        Route("/mcp", endpoint=guarded),
        Route(CONSENT_PATH, endpoint=consent.handle, methods=["GET", "POST"]),
        Route("/healthz", endpoint=healthz, methods=["GET"]),
        Route("/mcp/server-card", endpoint=server_card, methods=["GET"]),
        Route(card.WELL_KNOWN_PATH, endpoint=server_card, methods=["GET"]),
        Route(card.CATALOG_PATH, endpoint=ai_catalog, methods=["GET"]),
        *create_auth_routes(
            provider,
            issuer_url=AnyHttpUrl(config.url),
            client_registration_options=ClientRegistrationOptions(enabled=True),
            revocation_options=RevocationOptions(enabled=True),
        ),
        *create_protected_resource_routes(
            resource_url=AnyHttpUrl(config.mcp_url),
            authorization_servers=[AnyHttpUrl(config.url)],
            resource_name=card.TITLE,
        ),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        import anyio

        async def purge() -> None:
            while True:
                with contextlib.suppress(Exception):
                    await db.purge_expired()
                await anyio.sleep(PURGE_SECONDS)

        try:
            async with pool.running(), manager.run(), anyio.create_task_group() as tg:
                tg.start_soon(purge)
                log.info("remote server ready", extra={"path": config.mcp_url})
                yield
                tg.cancel_scope.cancel()
        finally:
            if http is None:
                await shared_http.aclose()
            db.close()
            hub.close()

    return Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestLog),
            Middleware(AuthenticationMiddleware, backend=BearerAuthBackend(Verifier(provider, checker))),
            Middleware(AuthContextMiddleware),
        ],
        lifespan=lifespan,
    )


def _public() -> dict[str, str]:
    return {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}
