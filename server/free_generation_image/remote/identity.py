"""Who is calling: the authenticated user behind a request, and how a NemoVideo token is checked.

Hosts that send ``Authorization: Bearer <NemoVideo token>`` are checked against the backend once (a free
credits read) and the answer is cached briefly under a keyed hash of the token, never the token itself.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2
from mcp.server.auth.provider import AccessToken
from pydantic import Field

from free_generation_image.config import Settings
from free_generation_image.nemo.client import NemoClient
from free_generation_image.nemo.errors import AuthError, NemoError
from free_generation_image.remote.secrets import Keyring
from free_generation_image.store import Store

log = logging.getLogger(__name__)

BEARER_CLIENT = "nemo-bearer"  # the OAuth client id recorded for header-authenticated requests
STALE_GRACE = 900.0  # a token verified this recently is still accepted while the backend is unreachable
NEGATIVE_SECONDS = 10.0  # refusals are cached briefly so a bad token cannot hammer the backend
MAX_CACHE = 10_000


class UserAccess(AccessToken):
    """An authenticated request: the SDK's AccessToken plus the NemoVideo credential behind it."""

    nemo_token: str = Field(repr=False, exclude=True)
    anonymous: bool = False

    @property
    def identity(self) -> str:
        """The user; every piece of per-user state hangs off this."""
        return self.subject or self.client_id


@dataclass
class _Verdict:
    ok: bool
    checked_at: float


class NemoTokenChecker:
    """Checks NemoVideo tokens against the backend, with a short cache and one check per token at a time."""

    def __init__(
        self,
        base: Settings,
        keyring: Keyring,
        http: httpx2.AsyncClient,
        scratch: Path,
        *,
        ttl: float = 60.0,
    ) -> None:
        self._base = base
        self._keyring = keyring
        self._http = http
        self._store = Store(scratch)  # never written: a client with a token never caches one
        self._ttl = ttl
        self._cache: OrderedDict[str, _Verdict] = OrderedDict()
        self._locks: dict[str, anyio.Lock] = {}

    async def verify(self, nemo_token: str) -> UserAccess | None:
        """The access this token grants, or None (invalid, expired, revoked, or cannot be checked)."""
        nemo_token = nemo_token.strip()
        if not nemo_token:
            return None
        key = self._keyring.fingerprint("token:" + nemo_token)
        verdict = self._fresh(key)
        if verdict is None:
            lock = self._locks.setdefault(key, anyio.Lock())
            async with lock:
                verdict = self._fresh(key) or await self._check(key, nemo_token)
            self._locks.pop(key, None)
        if not verdict.ok:
            return None
        return UserAccess(
            token=key,  # what the SDK keeps in scope is a fingerprint, not the NemoVideo token
            client_id=BEARER_CLIENT,
            scopes=[],
            subject=self._keyring.subject_for_token(nemo_token),
            nemo_token=nemo_token,
        )

    def _fresh(self, key: str) -> _Verdict | None:
        verdict = self._cache.get(key)
        if verdict is None:
            return None
        age = time.monotonic() - verdict.checked_at
        if age < (self._ttl if verdict.ok else min(self._ttl, NEGATIVE_SECONDS)):
            self._cache.move_to_end(key)
            return verdict
        return None

    async def _check(self, key: str, nemo_token: str) -> _Verdict:
        ok = await self.check(nemo_token)
        if ok is None:  # backend unreachable: keep a recent success rather than lock everyone out
            previous = self._cache.get(key)
            if previous is not None and previous.ok and time.monotonic() - previous.checked_at < STALE_GRACE:
                return previous
            ok = False
        verdict = _Verdict(ok, time.monotonic())
        self._cache[key] = verdict
        self._cache.move_to_end(key)
        while len(self._cache) > MAX_CACHE:
            self._cache.popitem(last=False)
        return verdict

    async def check(self, nemo_token: str) -> bool | None:
        """True if the backend accepts the token, False if it refuses it, None if it cannot say."""
        settings = Settings(api_url=self._base.api_url, web_url=self._base.web_url, token=nemo_token)
        client = NemoClient(settings, self._store, http=self._http)
        try:
            await client.credits()
        except AuthError:
            return False
        except NemoError as err:
            log.warning("cannot verify a bearer token right now: %s", err.message)
            return None
        return True
