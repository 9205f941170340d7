"""A scriptable fake of the backend for httpx2.MockTransport, plus small response builders."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import anyio
import httpx2

Responder = Callable[[httpx2.Request], httpx2.Response | Awaitable[httpx2.Response]]

TOKEN_PATH = "/api/auth/anonymous-token"
FAR_FUTURE = "2999-01-01T00:00:00Z"


def reply(
    status: int = 200,
    *,
    json: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Responder:
    """A responder building a fresh response each time (a response object cannot be sent twice)."""

    def respond(request: httpx2.Request) -> httpx2.Response:
        if json is not None:
            return httpx2.Response(status, json=json, headers=headers)
        return httpx2.Response(status, content=content or b"", headers=headers)

    return respond


def ok(data: Any) -> Responder:
    """The code envelope around ``data``."""
    return reply(json={"code": 0, "data": data})


def fail(exc: Exception) -> Responder:
    """A responder raising a transport error (the request did not get an answer)."""

    def respond(request: httpx2.Request) -> httpx2.Response:
        raise exc

    return respond


class Chunks(httpx2.AsyncByteStream):
    """A response body delivered in exactly the given pieces; an exception item is raised there."""

    def __init__(self, chunks: Iterable[bytes | BaseException], *, gap: float = 0.0) -> None:
        self.chunks = chunks
        self.gap = gap
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            if self.gap:
                await anyio.sleep(self.gap)
            if isinstance(chunk, BaseException):
                raise chunk
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


def sse(
    chunks: Iterable[bytes | BaseException], *, gap: float = 0.0, streams: list[Chunks] | None = None
) -> Responder:
    """A text/event-stream answer made of the given chunks; ``streams`` collects the bodies handed out."""

    def respond(request: httpx2.Request) -> httpx2.Response:
        body = Chunks(chunks, gap=gap)
        if streams is not None:
            streams.append(body)
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=body)

    return respond


class TokenIssuer:
    """The anonymous-token endpoint: a new token per call (nmv_usr_t1, t2, ...)."""

    def __init__(
        self, *, user_id: str = "anon_0123456789abcdef", expires_at: Any = FAR_FUTURE, delay: float = 0.0
    ) -> None:
        self.user_id = user_id
        self.expires_at = expires_at
        self.delay = delay
        self.issued: list[str] = []

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if self.delay:
            await anyio.sleep(self.delay)
        if not request.headers.get("x-client-id"):
            return httpx2.Response(400, json={"detail": "X-Client-Id header is required"})
        token = f"nmv_usr_t{len(self.issued) + 1}"
        self.issued.append(token)
        return httpx2.Response(
            200,
            json={
                "code": 0,
                "data": {
                    "token": token,
                    "user_id": self.user_id,
                    "expires_at": self.expires_at,
                    "credits": 100,
                },
            },
        )


class FakeBackend:
    """Routes (method, path) to a queue of responders; the last responder of a queue repeats."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Responder]] = {}
        self.requests: list[httpx2.Request] = []
        self.tokens = TokenIssuer()
        self.on("POST", TOKEN_PATH, self.tokens)

    def on(self, method: str, path: str, *responders: Responder) -> FakeBackend:
        self.routes[(method, path)] = list(responders)
        return self

    def calls(self, method: str, path: str) -> list[httpx2.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        queue = self.routes.get((request.method, request.url.path))
        if not queue:
            return httpx2.Response(404, json={"detail": "Not Found"})
        responder = queue.pop(0) if len(queue) > 1 else queue[0]
        result = responder(request)
        if inspect.isawaitable(result):
            result = await result
        assert isinstance(result, httpx2.Response)
        return result
