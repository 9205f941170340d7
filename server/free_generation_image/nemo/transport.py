"""One ``httpx2.AsyncClient`` for the backend: URLs, headers, timeouts, retries, envelopes, errors.

Retry policy (the only place requests are repeated):

- HTTP 429 anywhere: wait ``Retry-After`` (else 30 s) and try once more; a wait longer than
  ``max_retry_wait`` is not slept through but raised as :class:`RateLimited` for the user.
- A request that provably never left (connect error, connect/pool timeout): up to 2 retries.
- GET on 5xx/408 or on a network error after sending: up to 2 retries, jittered backoff.
- GET whose 2xx answer cannot be read (not JSON, cut short): treated like a 5xx.
- POSTs are never repeated after they may have reached the backend: generation costs credits.
- No wait is started that would outlast the caller's deadline (anyio's effective deadline): the
  error is raised at once instead, so a bounded call fails with the real reason, not a timeout.

The ``Authorization`` header is added per request, never set on the shared client, so it cannot
follow a download to a CDN; it is never logged.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from typing import Any, Final, TypedDict, Unpack

import anyio
import httpx2

from free_generation_image.config import DEFAULT_WEB_URL
from free_generation_image.errors import InvalidInput
from free_generation_image.nemo import envelope
from free_generation_image.nemo.errors import BackendUnavailable, BadResponse, NemoError

log = logging.getLogger(__name__)

JSON_TIMEOUT: Final = httpx2.Timeout(30.0, connect=10.0)
LIMITS: Final = httpx2.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30.0)
MAX_ATTEMPTS: Final = 3  # the first try and 2 retries
DEFAULT_RATE_LIMIT_WAIT: Final = 30.0
MAX_ERROR_BODY: Final = 64 * 1024
MAX_JSON_BODY: Final = 64 * 1024 * 1024
_NEVER_SENT: Final = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)

BodyFactory = Callable[[], AsyncIterable[bytes]]  # a fresh body for each attempt


class Sent(TypedDict, total=False):
    """What a request carries besides its method, path and token."""

    json: Any
    body: BodyFactory | None  # a fresh body for each attempt
    headers: Mapping[str, str] | None
    http_timeout: httpx2.Timeout | None


Sleep = Callable[[float], Awaitable[None]]
Ambiguous = Callable[[str], NemoError]  # builds the error for "it may have reached the backend"


def new_http_client() -> httpx2.AsyncClient:
    """The process-wide client: pooled, JSON timeouts, no automatic redirects."""
    return httpx2.AsyncClient(timeout=JSON_TIMEOUT, limits=LIMITS, follow_redirects=False)


def backoff_delay(attempt: int, rand: float) -> float:
    """Seconds before retry ``attempt`` (1, 2, …): 0.5 s doubling, jittered by ×0.5–1.5, capped at 8 s."""
    return min(8.0, 0.5 * 2.0 ** (attempt - 1)) * (0.5 + rand)


def is_http_url(url: str) -> bool:
    """True for absolute http(s) URLs with a host."""
    try:
        parsed = httpx2.URL(url)
    except (httpx2.InvalidURL, TypeError):
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.host)


def loggable(url: httpx2.URL) -> str:
    """The URL without its query string (CDN links carry signatures) or credentials."""
    return str(url.copy_with(query=None, fragment=None, username=None, password=None))


def fits_deadline(wait: float) -> bool:
    """Whether sleeping ``wait`` s still ends before the enclosing cancel scopes' deadline."""
    return anyio.current_time() + wait < anyio.current_effective_deadline()


def _network_message(err: httpx2.TransportError) -> str:
    if isinstance(err, httpx2.TimeoutException):
        return f"the backend did not answer in time ({type(err).__name__})"
    return f"the connection failed ({type(err).__name__})"


class Transport:
    """Sends requests to the API base URL (or an absolute URL) and turns answers into data or errors."""

    def __init__(
        self,
        http: httpx2.AsyncClient,
        *,
        api_url: str,
        headers: Callable[[], Mapping[str, str]],
        web_url: str = DEFAULT_WEB_URL,
        retry_sleep: Sleep,
        user_id: Callable[[], str | None] = lambda: None,
        max_retry_wait: float = 120.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.http = http
        self.api_url = api_url.rstrip("/")
        self.web_url = web_url
        self._headers = headers
        self._sleep = retry_sleep
        self._user_id = user_id
        self.max_retry_wait = max_retry_wait
        self._rand = rand

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.api_url}{path}"

    async def request(
        self, method: str, path: str, *, token: str | None, whole_body: bool = False, **sent: Unpack[Sent]
    ) -> Any:
        """Send, read and unwrap a JSON answer: the envelope's ``data`` (or the whole body if asked)."""
        attempt = 1
        while True:
            response, content = await self._open(method, path, token=token, read=True, **sent)
            try:
                value = envelope.unwrap(response.status_code, content, **self._error_context(response))
                return envelope.parse_json(content) if whole_body else value
            except BadResponse:
                # A read whose answer was garbled is as transient as a 5xx; a POST is never repeated.
                delay = backoff_delay(attempt, self._rand())
                if (
                    method != "GET"
                    or not response.is_success
                    or attempt >= MAX_ATTEMPTS
                    or not fits_deadline(delay)
                ):
                    raise
                log.info(
                    "unreadable answer to GET %s; retrying", path if not path.startswith("http") else "(url)"
                )
                await self._sleep(delay)
                attempt += 1

    async def open(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        max_redirects: int = 0,
        ambiguous: Ambiguous | None = None,
        **sent: Unpack[Sent],
    ) -> httpx2.Response:
        """Send with the retry policy; return an open 2xx streaming response (caller closes it) or raise.

        Non-2xx answers are read (bounded), closed and raised as the matching :class:`NemoError`.
        ``ambiguous`` builds the error for a failure after the request may have reached the backend.
        """
        response, _ = await self._open(
            method, path, token=token, read=False, max_redirects=max_redirects, ambiguous=ambiguous, **sent
        )
        return response

    async def _open(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        read: bool,
        max_redirects: int = 0,
        ambiguous: Ambiguous | None = None,
        **sent: Unpack[Sent],
    ) -> tuple[httpx2.Response, bytes]:
        url = self.url(path)
        json, body, headers = sent.get("json"), sent.get("body"), sent.get("headers")
        http_timeout = sent.get("http_timeout")
        # An API path extends the base URL that Settings checked; only an absolute URL (a download) needs
        # checking here, and parsing one costs ~25 µs per request.
        if path.startswith(("http://", "https://")) and not is_http_url(url):
            raise InvalidInput(f"Not an http(s) URL: {url[:200]!r}.", hint="Only http and https links work.")

        def build() -> httpx2.Request:
            return self.http.build_request(
                method,
                url,
                json=json,
                content=body() if body is not None else None,
                headers=self._request_headers(token, headers, json is not None, to_api=self._is_api(url)),
                timeout=http_timeout if http_timeout is not None else JSON_TIMEOUT,
            )

        response, content = await self._send(build, method, read=read, ambiguous=ambiguous)
        hops = 0
        while response.next_request is not None and max_redirects:
            target = response.next_request
            await response.aclose()
            hops += 1
            if hops > max_redirects:
                raise BadResponse(
                    f"Too many redirects (more than {max_redirects}) for {loggable(target.url)}."
                )
            if target.url.scheme not in ("http", "https"):
                raise BadResponse(f"Refused a redirect to a non-http(s) URL ({target.url.scheme}:).")
            response, content = await self._send(
                _fixed(target), target.method, read=read, ambiguous=ambiguous
            )
        if response.is_success:
            return response, content
        if max_redirects and response.is_redirect and response.next_request is None:
            # httpx2 builds no next request for a Location it cannot follow (data:, javascript:, ...).
            await response.aclose()
            scheme = response.headers.get("location", "").partition(":")[0][:20] or "?"
            raise BadResponse(f"Refused a redirect to a non-http(s) URL ({scheme}:).")
        if not read:
            try:
                content = await _read_capped(response, MAX_ERROR_BODY, truncate=True)
            finally:
                await response.aclose()
        envelope.unwrap(response.status_code, content, **self._error_context(response))
        raise BadResponse(  # unwrap raises for every non-2xx; this only guards the invariant
            f"Unexpected {envelope.status_text(response.status_code)} from the backend.",
            status=response.status_code,
        )

    def _is_api(self, url: str) -> bool:
        return url == self.api_url or url.startswith(self.api_url + "/")

    def _request_headers(
        self, token: str | None, extra: Mapping[str, str] | None, is_json: bool, *, to_api: bool = True
    ) -> dict[str, str]:
        # Media hosts (CDN links the backend hands out) get no attribution headers: only the API needs them.
        headers = dict(self._headers()) if to_api else {"User-Agent": self._headers().get("User-Agent", "")}
        headers["Accept"] = "application/json"
        if is_json:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if extra:
            headers.update(extra)
        return headers

    def _error_context(self, response: httpx2.Response) -> dict[str, Any]:
        return {
            "retry_after": envelope.retry_after_seconds(response.headers.get("retry-after")),
            "user_id": self._user_id(),
            "web_url": self.web_url,
        }

    async def _send(
        self,
        build: Callable[[], httpx2.Request],
        method: str,
        *,
        read: bool,
        ambiguous: Ambiguous | None,
    ) -> tuple[httpx2.Response, bytes]:
        """One logical request: retries per the module's policy; ``read`` reads the body inside it."""
        idempotent = method in ("GET", "HEAD")
        rate_limited = False
        attempt = 1
        while True:
            request = build()
            started = time.monotonic()
            content = b""
            try:
                response = await self.http.send(request, stream=True, follow_redirects=False)
                if read:
                    try:
                        content = await _read_capped(response, MAX_JSON_BODY)
                    finally:
                        await response.aclose()
            except httpx2.TransportError as err:
                never_sent = isinstance(err, _NEVER_SENT)
                if log.isEnabledFor(logging.DEBUG):  # loggable() parses the URL again: only when shown
                    log.debug(
                        "%s %s failed after %.2fs: %s",
                        method,
                        loggable(request.url),
                        time.monotonic() - started,
                        type(err).__name__,
                    )
                delay = backoff_delay(attempt, self._rand())
                if (never_sent or idempotent) and attempt < MAX_ATTEMPTS and fits_deadline(delay):
                    await self._sleep(delay)
                    attempt += 1
                    continue
                message = f"Could not reach the NemoVideo backend: {_network_message(err)}."
                if never_sent or ambiguous is None:
                    raise BackendUnavailable(message) from err
                raise ambiguous(message) from err
            status = response.status_code
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %s -> %d (%.2fs)", method, loggable(request.url), status, time.monotonic() - started
                )
            if status == 429 and not rate_limited:
                wait = envelope.retry_after_seconds(response.headers.get("retry-after"))
                wait = DEFAULT_RATE_LIMIT_WAIT if wait is None else wait
                if wait <= self.max_retry_wait and fits_deadline(wait):
                    await response.aclose()
                    log.info("rate limited on %s; retrying once in %.0f s", loggable(request.url), wait)
                    rate_limited = True
                    await self._sleep(wait)
                    continue
            delay = backoff_delay(attempt, self._rand())
            if (
                idempotent
                and (status >= 500 or status == 408)
                and attempt < MAX_ATTEMPTS
                and fits_deadline(delay)
            ):
                await response.aclose()
                await self._sleep(delay)
                attempt += 1
                continue
            return response, content


def _fixed(request: httpx2.Request) -> Callable[[], httpx2.Request]:
    """A builder that re-sends one prepared request (a redirect hop has no body to rebuild)."""
    return lambda: request


async def _read_capped(response: httpx2.Response, limit: int, *, truncate: bool = False) -> bytes:
    """Read the whole (decoded) body, refusing more than ``limit`` bytes (or keeping only that many).

    An error page is only read for its status and short message, so it is truncated; a JSON
    answer that large is refused.
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            if truncate:
                chunks.append(chunk[: len(chunk) - (size - limit)])
                break
            raise BadResponse(
                f"The backend sent more than {limit // 1024} KiB where a short answer was expected."
            )
        chunks.append(chunk)
    return b"".join(chunks)


def scrub(err: NemoError, secret: str | None) -> NemoError:
    """Remove a secret the backend may have echoed from an error message (short strings are no secret)."""
    if secret and len(secret) >= 8 and secret in err.message:
        err.message = err.message.replace(secret, "***")
        err.args = (err.message, *err.args[1:])
    return err
