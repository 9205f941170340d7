"""Who we are to the backend: the client id and the bearer token (contract §2.1, §7).

``NEMO_TOKEN`` wins and is never written anywhere. Otherwise we use an anonymous token, obtained
with our persisted client id and cached in ``token.json`` (0600) keyed by API URL, so a sandbox
token is never sent to production. Anonymous tokens live 7 days and only one is issued per
client id per week, so the cache matters: it is reused across runs until shortly before expiry.

A request refused with 1001/401 gets one new token and one repeat (:meth:`Auth.authorized`);
concurrent callers share a single refresh: under the lock, whoever finds the refused token already
replaced takes the replacement instead of asking for another (the quota is one per week).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import anyio

from free_generation_image.config import Settings
from free_generation_image.errors import InvalidInput
from free_generation_image.locks import SharedLock
from free_generation_image.nemo.errors import AuthError, BadResponse
from free_generation_image.nemo.models import epoch_seconds
from free_generation_image.nemo.transport import Transport
from free_generation_image.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")

TOKEN_FILE: Final = "token.json"  # noqa: S105 - a file name, not a secret
CLIENT_ID_FILE: Final = "client_id"
TOKEN_PATH: Final = "/api/auth/anonymous-token"  # noqa: S105 - an API path
ANONYMOUS_LIFETIME: Final = 7 * 24 * 3600.0
REFRESH_MARGIN: Final = 600.0  # renew this long before expiry, so no request races the deadline
MAX_CLIENT_ID: Final = 64
TOKEN_LOCK_SECONDS: Final = 30.0  # then go on without it: a duplicate token beats a stuck server


@dataclass(frozen=True)
class Credential:
    """A token and what we know about it; ``repr`` never shows the token."""

    token: str = field(repr=False)
    user_id: str | None
    anonymous: bool
    expires_at: float | None

    def fresh(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at - REFRESH_MARGIN


def valid_client_id(value: str) -> bool:
    """Stable, printable, no spaces, at most 64 characters (§7.2)."""
    return 0 < len(value) <= MAX_CLIENT_ID and value.isascii() and value.isprintable() and " " not in value


def is_refusal(err: AuthError) -> bool:
    """A token refusal that a new token can fix (1001 / HTTP 401), unlike a 403 (scope, plan)."""
    return err.code == 1001 or err.status == 401


class Auth:
    """Token source for one API URL. Safe to share between concurrent tasks."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        transport: Transport,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._store = store
        self._transport = transport
        self._clock = clock
        self._lock = anyio.Lock()
        # Two processes sharing the config dir must not both ask for a token (one per client id a week).
        self._fetching = SharedLock(store.path(".token.lock"))
        self._current: Credential | None = None
        self._user_id: str | None = None
        if settings.token:
            self._current = Credential(settings.token, None, anonymous=False, expires_at=None)

    @property
    def user_id(self) -> str | None:
        """The backend user id, once known: from the anonymous token, else from session creation."""
        return (self._current.user_id if self._current else None) or self._user_id

    def note_user_id(self, user_id: str | None) -> None:
        if user_id:
            self._user_id = user_id

    @property
    def token_from_env(self) -> bool:
        return bool(self._settings.token)

    async def credential(self) -> Credential:
        """A usable token: cached in memory, else from ``token.json``, else a new anonymous one."""
        current = self._current
        if current is not None and current.fresh(self._clock()):
            return current
        async with self._lock:
            current = self._current
            if current is not None and current.fresh(self._clock()):
                return current
            cached = self._load_cached()
            if cached is not None:
                self._current = cached
                return cached
            async with self._fetching.hold(timeout=TOKEN_LOCK_SECONDS, best_effort=True):
                cached = self._load_cached()
                if cached is not None:
                    self._current = cached
                    return cached
                return await self._fetch_anonymous()

    async def refresh(self, stale: Credential) -> Credential:
        """Replace a token the backend refused; callers that saw the same token share one refresh."""
        if self.token_from_env:
            raise AuthError("NEMO_TOKEN was refused by the backend (invalid, expired or revoked).", code=1001)
        async with self._lock:
            current = self._current
            if current is not None and current.token != stale.token and current.fresh(self._clock()):
                return current  # another caller already refreshed
            async with self._fetching.hold(timeout=TOKEN_LOCK_SECONDS, best_effort=True):
                cached = self._load_cached()
                if cached is not None and cached.token != stale.token:
                    self._current = cached  # another process refreshed
                    return cached
                log.info("the anonymous token was refused; requesting a new one")
                return await self._fetch_anonymous()

    async def authorized(self, send: Callable[[str], Awaitable[T]]) -> T:
        """Run ``send(token)``; on a token refusal get a new token once and run it again.

        Safe for every request: a refused token means the backend did nothing with the request.
        """
        credential = await self.credential()
        try:
            return await send(credential.token)
        except AuthError as err:
            if self.token_from_env or not is_refusal(err):
                raise
            log.debug(
                "request refused with %s; refreshing the token and repeating once", err.code or err.status
            )
        credential = await self.refresh(credential)
        try:
            return await send(credential.token)
        except AuthError as err:
            err.hint = (
                "A fresh anonymous token was refused too. Try again later, or set NEMO_TOKEN to a token from "
                "nemovideo.com -> Settings -> API Tokens."
            )
            raise

    def client_id(self) -> str:
        """``NEMO_CLIENT_ID``, else the persisted id, else a new UUID (persisted)."""
        configured = self._settings.client_id
        if configured:
            if not valid_client_id(configured):
                raise InvalidInput(
                    "NEMO_CLIENT_ID must be 1-64 printable characters without spaces.",
                    hint="Fix or unset the NEMO_CLIENT_ID environment variable.",
                )
            return configured
        stored = self._store.read_text(CLIENT_ID_FILE)
        if stored and valid_client_id(stored):
            return stored
        new = str(uuid.uuid4())
        self._store.write_text(CLIENT_ID_FILE, new)
        return new

    async def _fetch_anonymous(self) -> Credential:
        """POST the anonymous-token endpoint (lock held). Its 429 is retried once by the transport."""
        data = await self._transport.request(
            "POST", TOKEN_PATH, token=None, headers={"X-Client-Id": self.client_id()}
        )
        token = data.get("token") if isinstance(data, Mapping) else None
        if not isinstance(token, str) or not token.strip():
            raise BadResponse("The backend issued no anonymous token.")
        now = self._clock()
        expires_at = epoch_seconds(data.get("expires_at")) or now + ANONYMOUS_LIFETIME
        user_id = data.get("user_id") if isinstance(data.get("user_id"), str) else None
        credential = Credential(token.strip(), user_id, anonymous=True, expires_at=expires_at)
        self._current = credential
        self._user_id = None  # a new anonymous token may be a new user
        self._save(credential)
        log.info("obtained an anonymous NemoVideo token (user %s)", user_id or "unknown")
        return credential

    def _load_cached(self) -> Credential | None:
        """The cached anonymous token for this API URL, if present, well-formed and fresh."""
        entry = self._entries().get(self._settings.api_url)
        if not isinstance(entry, Mapping):
            return None
        token, expires_at = entry.get("token"), epoch_seconds(entry.get("expires_at"))
        if not isinstance(token, str) or not token or expires_at is None:
            return None
        user_id = entry.get("user_id") if isinstance(entry.get("user_id"), str) else None
        credential = Credential(token, user_id, anonymous=True, expires_at=expires_at)
        return credential if credential.fresh(self._clock()) else None

    def _entries(self) -> dict[str, Any]:
        value = self._store.read_json(TOKEN_FILE)
        if value is not None and not isinstance(value, dict):
            log.warning("%s has an unexpected shape; it will be replaced", TOKEN_FILE)
            return {}
        return value or {}

    def _save(self, credential: Credential) -> None:
        entries = self._entries()
        entries[self._settings.api_url] = {
            "token": credential.token,
            "user_id": credential.user_id,
            "expires_at": credential.expires_at,
            "obtained_at": self._clock(),
        }
        try:
            self._store.write_json(TOKEN_FILE, entries)
        except OSError as err:  # a read-only config dir costs a token per run, not the request
            log.warning("cannot cache the token in %s: %s", self._store.path(TOKEN_FILE), err)
