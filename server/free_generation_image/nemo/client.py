"""``NemoClient``: the one object the service talks to (sessions, stream, state, upload, render, files).

Thin on purpose: each method is a path, a body and a parser from :mod:`models`; headers, retries
and envelopes live in :mod:`transport`, tokens in :mod:`auth`, the event stream in :mod:`stream`.
No MCP, no printing, no disk except the token cache.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path, PurePath
from types import TracebackType
from typing import Any, Final, Literal, Self, TypeVar, Unpack
from urllib.parse import quote

import anyio
import httpx2

from free_generation_image.config import Settings
from free_generation_image.errors import InvalidInput
from free_generation_image.nemo import envelope, identity
from free_generation_image.nemo.auth import Auth
from free_generation_image.nemo.errors import BackendUnavailable, BadResponse, NemoError
from free_generation_image.nemo.events import StreamEvent
from free_generation_image.nemo.models import (
    Credits,
    RenderState,
    RenderStatus,
    SessionInfo,
    SessionState,
    TokenInfo,
    UploadedFile,
    parse_render,
    uploaded_files,
)
from free_generation_image.nemo.stream import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_SECONDS,
    open_run,
    stream_events,
)
from free_generation_image.nemo.transport import Sent, Transport, is_http_url, new_http_client, scrub
from free_generation_image.nemo.upload import MultipartUpload, ProgressCallback, check_file, check_urls
from free_generation_image.store import Store

__all__ = [
    "Credits",
    "Download",
    "NemoClient",
    "RenderState",
    "RenderStatus",
    "SessionInfo",
    "SessionState",
    "TokenInfo",
    "UploadedFile",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

APP: Final = "nemo_agent"
MAX_REDIRECTS: Final = 5
UPLOAD_TIMEOUT: Final = httpx2.Timeout(
    60.0, connect=10.0, read=180.0
)  # the backend probes media after upload
DOWNLOAD_TIMEOUT: Final = httpx2.Timeout(30.0, connect=10.0)
DOWNLOAD_CHUNK: Final = 256 * 1024


def _seg(value: str) -> str:
    """One URL path segment; ids come from the backend or the user, so never trust them raw."""
    return quote(value, safe="")


class Download:
    """An open download: headers known, body streamed with :meth:`aiter_bytes`."""

    def __init__(self, response: httpx2.Response) -> None:
        self._response = response
        media_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
        self.content_type: str | None = media_type or None
        declared = response.headers.get("content-length", "")
        # With a content-encoding, Content-Length counts the compressed bytes, not what we yield.
        encoded = response.headers.get("content-encoding", "identity").lower() not in ("", "identity")
        self.length: int | None = int(declared) if declared.isdigit() and not encoded else None
        self.url = str(response.url)

    async def aiter_bytes(self) -> AsyncGenerator[bytes]:
        """The body in chunks; a broken connection is :class:`BackendUnavailable`."""
        try:
            async for chunk in self._response.aiter_bytes(DOWNLOAD_CHUNK):
                yield chunk
        except httpx2.TransportError as err:
            raise BackendUnavailable(f"The download broke off ({type(err).__name__}).") from err


class NemoClient:
    """Async client for back end A. Use ``async with``; share one per process."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        http: httpx2.AsyncClient | None = None,
        client_name: str | None = None,
        retry_sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        stream_idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        stream_max_seconds: float = DEFAULT_MAX_SECONDS,
        install_path: str | PurePath | None = identity.PACKAGE_PATH,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.stream_idle_timeout = stream_idle_timeout
        self.stream_max_seconds = stream_max_seconds
        self._owns_http = http is None
        self._http = http if http is not None else new_http_client()
        self._client_name = client_name
        self._install_path = install_path
        self._headers: dict[str, str] | None = None
        self._transport = Transport(
            self._http,
            api_url=settings.api_url,
            web_url=settings.web_url,
            headers=self._attribution,
            retry_sleep=retry_sleep,
            user_id=lambda: self.user_id,
        )
        self._auth = Auth(settings, store, self._transport, clock=clock)

    # ------------------------------------------------------------------ lifecycle and identity
    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it (a client passed in stays open)."""
        if self._owns_http:
            await self._http.aclose()

    def set_client_name(self, name: str | None) -> None:
        """The MCP client's name, used for ``X-Skill-Platform`` when nothing more specific is known."""
        if name != self._client_name:  # called on every tool call: keep the cached headers
            self._client_name = name
            self._headers = None

    def _attribution(self) -> dict[str, str]:
        if self._headers is None:
            self._headers = identity.attribution_headers(
                skill_source=self.settings.skill_source,
                client_name=self._client_name,
                install_path=self._install_path,
            )
        return self._headers

    @property
    def user_id(self) -> str | None:
        return self._auth.user_id

    async def ensure_token(self) -> TokenInfo:
        """Make sure a token is at hand (anonymous if needed); say whose it is, never what it is."""
        credential = await self._auth.credential()
        return TokenInfo(
            user_id=self.user_id, anonymous=credential.anonymous, expires_at=credential.expires_at
        )

    # ------------------------------------------------------------------ plumbing
    async def _call(self, method: str, path: str, *, whole_body: bool = False, **sent: Unpack[Sent]) -> Any:
        async def send(token: str) -> Any:
            try:
                return await self._transport.request(method, path, token=token, whole_body=whole_body, **sent)
            except NemoError as err:
                raise scrub(err, token) from err.__cause__

        return await self._auth.authorized(send)

    # ------------------------------------------------------------------ sessions, credits, state
    async def create_session(self, task_name: str, language: str) -> SessionInfo:
        """Create a project ("task") with its agent session (§2.2)."""
        data = await self._call(
            "POST", f"/api/tasks/me/with-session/{APP}", json={"task_name": task_name, "language": language}
        )
        info = SessionInfo.from_data(data)
        self._auth.note_user_id(info.user_id)
        if info.user_id is None and self.user_id is not None:
            info = SessionInfo(info.task_id, info.session_id, self.user_id)
        return info

    async def claim_link(self, task_id: str, session_id: str) -> str:
        """A browser link to the project that carries no API token (§2.3); plain task link as fallback."""
        try:
            data = await self._call(
                "POST", "/api/auth/claim-token", json={"task_id": task_id, "session_id": session_id}
            )
            claim = data.get("claim_token") if isinstance(data, Mapping) else None
            if not isinstance(claim, str) or not claim:
                raise BadResponse("The backend sent no claim token.")
            return f"{self.settings.web_url}/workspace/claim?ct={quote(claim, safe='')}"
        except NemoError as err:
            log.info("claim token unavailable (%s); using the plain project link", err.message)
            return (
                f"{self.settings.web_url}/workspace/task/{_seg(task_id)}?session={quote(session_id, safe='')}"
            )

    async def credits(self) -> Credits:
        """Available, frozen and total credits (§2.6); free to call."""
        return Credits.from_data(await self._call("GET", "/api/credits/balance/simple"))

    async def state(self, session_id: str) -> SessionState:
        """The session state: draft, generated media, uploads, canvas (§2.7)."""
        return SessionState.from_data(
            await self._call("GET", f"/api/state/{APP}/me/{_seg(session_id)}/latest")
        )

    # ------------------------------------------------------------------ the agent
    def run_sse(self, session_id: str, text: str) -> AsyncGenerator[StreamEvent]:
        """Send ``text`` to the agent once and yield the turn's events until the backend closes it.

        A non-partial :class:`TextEvent` replaces the partial chunks before it (see :mod:`events`).
        Errors before the stream opens are the mapped :class:`NemoError`; after it opened, any
        failure is :class:`StreamDropped`: read state, never re-send. Nothing is sent until the
        first iteration. Close the generator (``contextlib.aclosing``) if you stop early.
        """
        idle_timeout = self.stream_idle_timeout

        async def send(token: str) -> httpx2.Response:
            try:
                return await open_run(
                    self._transport, token, session_id, text, idle_timeout=idle_timeout, user_id=self.user_id
                )
            except NemoError as err:
                raise scrub(err, token) from err.__cause__

        async def open_response() -> httpx2.Response:
            return await self._auth.authorized(send)

        # One generator layer between the socket and the caller: this loop runs per event.
        return stream_events(
            open_response,
            idle_timeout=idle_timeout,
            max_seconds=self.stream_max_seconds,
            read_timeout=idle_timeout,  # open_run opens the response with it
        )

    # ------------------------------------------------------------------ uploads
    async def upload_files(
        self, session_id: str, paths: Sequence[Path], *, on_progress: ProgressCallback | None = None
    ) -> list[UploadedFile]:
        """Upload local media (multipart ``files``), streamed from disk; every file is checked first."""
        if not paths:
            raise InvalidInput("No file to upload.", hint="Give at least one file path.")
        body = MultipartUpload([check_file(Path(p)) for p in paths])
        data = await self._call(
            "POST",
            f"/api/upload-video/{APP}/me/{_seg(session_id)}",
            body=lambda: body.stream(on_progress),
            headers=body.headers(),
            http_timeout=UPLOAD_TIMEOUT,
        )
        return uploaded_files(data)

    async def upload_urls(self, session_id: str, urls: Sequence[str]) -> list[UploadedFile]:
        """Add media by http(s) link; the backend fetches them, we never do."""
        checked = check_urls(urls)
        data = await self._call(
            "POST",
            f"/api/upload-video/{APP}/me/{_seg(session_id)}",
            json={"urls": checked, "source_type": "url"},
            http_timeout=UPLOAD_TIMEOUT,
        )
        return uploaded_files(data)

    # ------------------------------------------------------------------ render (export)
    async def submit_render(
        self, session_id: str, draft: Mapping[str, Any], *, render_id: str, fmt: Literal["mp4", "png"]
    ) -> RenderStatus:
        """Start a render of ``draft`` under the client-chosen ``render_id`` (§2.8); free."""
        body = {
            "id": render_id,
            "sessionId": session_id,
            "draft": draft,
            "output": {"format": fmt, "quality": "high"},
        }
        answer = await self._call("POST", "/api/render/proxy/lambda", json=body, whole_body=True)
        try:
            return parse_render(answer, render_id=render_id)
        except BadResponse:  # accepted without a status: it is queued
            return RenderStatus(id=render_id, status="pending")

    async def poll_render(self, render_id: str) -> RenderStatus:
        """Where the render stands, from any of the poll shapes (§6.2).

        Transient failures raise BackendUnavailable (network, 408, 5xx) or RateLimited: poll the
        same id again later.
        """
        answer = await self._call("GET", f"/api/render/proxy/lambda/{_seg(render_id)}", whole_body=True)
        return parse_render(answer, render_id=render_id)

    async def cancel_render(self, render_id: str) -> RenderStatus | None:
        """Ask the backend to stop a render (§2.10); None when it gives no status or has no such render."""
        try:
            answer = await self._call(
                "POST", f"/api/render/proxy/lambda/{_seg(render_id)}/cancel", whole_body=True
            )
        except NemoError as err:
            if err.status in (404, 405):
                log.info("render %s cannot be cancelled: %s", render_id, err.message)
                return None
            raise
        try:
            return parse_render(answer, render_id=render_id)
        except BadResponse:
            return None

    # ------------------------------------------------------------------ downloads
    @asynccontextmanager
    async def download(self, url: str) -> AsyncIterator[Download]:
        """Open a media URL (http/https only, at most 5 redirects); no token is sent with it."""
        if not isinstance(url, str) or not is_http_url(url):
            raise InvalidInput(
                f"Not an http(s) URL: {str(url)[:200]!r}.", hint="Only http and https links work."
            )
        response = await self._transport.open(
            "GET",
            url,
            token=None,
            headers={"Accept": "*/*"},
            http_timeout=DOWNLOAD_TIMEOUT,
            max_redirects=MAX_REDIRECTS,
        )
        try:
            yield Download(response)
        finally:
            await response.aclose()

    @asynccontextmanager
    async def download_render(self, render_id: str) -> AsyncIterator[Download]:
        """The render's file through the authenticated fallback endpoint (§2.11).

        The contract disagrees on its answer (bytes vs JSON with ``output.url``); both work.
        """
        path = f"/api/render/proxy/{_seg(render_id)}/download"

        async def send(token: str) -> httpx2.Response:
            try:
                return await self._transport.open(
                    "GET",
                    path,
                    token=token,
                    headers={"Accept": "*/*"},
                    http_timeout=DOWNLOAD_TIMEOUT,
                    max_redirects=MAX_REDIRECTS,
                )
            except NemoError as err:
                raise scrub(err, token) from err.__cause__

        response = await self._auth.authorized(send)
        try:
            if (
                response.headers.get("content-type", "").partition(";")[0].strip().lower()
                != "application/json"
            ):
                yield Download(response)
                return
            try:
                answer = envelope.parse_json(await response.aread())
            except httpx2.TransportError as err:
                raise BackendUnavailable(f"The download broke off ({type(err).__name__}).") from err
        finally:
            await response.aclose()
        url = _file_url(answer)
        if url is None:
            raise BadResponse(f"The render download for {render_id} returned JSON without a file URL.")
        async with self.download(url) as download:
            yield download


def _file_url(answer: Any) -> str | None:
    """URL in a JSON download answer: ``outputUrl``, ``output.url`` or ``url``, in ``data`` or not."""
    if not isinstance(answer, Mapping):
        return None
    data = answer.get("data")
    for obj in (data if isinstance(data, Mapping) else {}, answer):
        output = obj.get("output")
        for value in (
            obj.get("outputUrl"),
            output.get("url") if isinstance(output, Mapping) else None,
            obj.get("url"),
        ):
            if isinstance(value, str) and is_http_url(value):
                return value
    return None
