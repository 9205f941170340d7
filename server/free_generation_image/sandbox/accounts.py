"""Users, tokens, claim tokens, the anonymous-token quota, and credit bookkeeping (contract §2.1, §2.3,
§2.6, §7, §9)."""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from free_generation_image.sandbox.config import SandboxConfig
from free_generation_image.sandbox.responses import ApiError

TOKEN_PREFIX = "nmv_usr_"  # noqa: S105 - a prefix, not a secret
CLAIM_PREFIX = "clm_"
CLAIM_TTL_SECONDS = 604_800
MAX_CLIENT_ID = 64
_ALNUM = string.ascii_lowercase + string.digits


@dataclass
class User:
    """Credits: ``available`` can be spent; ``frozen`` is reserved by running work."""

    user_id: str
    anonymous: bool
    available: int
    frozen: int = 0

    def freeze(self, amount: int) -> bool:
        """Reserve ``amount``; False (nothing changes) when not enough is available."""
        if amount > self.available:
            return False
        self.available -= amount
        self.frozen += amount
        return True

    def settle(self, amount: int) -> None:
        """Charge a reservation: the work succeeded."""
        self.frozen -= amount

    def release(self, amount: int) -> None:
        """Give a reservation back: the work failed or stopped."""
        self.frozen -= amount
        self.available += amount

    def balance(self) -> dict[str, int]:
        """The ``/api/credits/balance/simple`` data."""
        return {"available": self.available, "frozen": self.frozen, "total": self.available + self.frozen}

    def to_json(self) -> dict[str, Any]:
        """Control-API view."""
        return {"user_id": self.user_id, "anonymous": self.anonymous, **self.balance()}


@dataclass
class Token:
    """An API token (``nmv_usr_``). The secret never leaves this object except in the issuing response."""

    secret: str = field(repr=False)
    user_id: str
    issued_at: float
    expires_at: float
    client_id: str | None = None

    def expired(self, now: float) -> bool:
        """True once the lifetime has passed (or the token was expired on purpose)."""
        return now >= self.expires_at


@dataclass(frozen=True)
class Claim:
    """A browser hand-off token: opens one project, grants no API access."""

    secret: str = field(repr=False)
    user_id: str
    task_id: str
    session_id: str
    expires_at: float


class Accounts:
    """All identities of one sandbox; lives on the event loop (no locking)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.users: dict[str, User] = {}
        self._tokens: dict[str, Token] = {}
        self._by_client: dict[str, list[Token]] = {}
        self._by_ip: dict[str, list[float]] = {}

    def issue_anonymous(self, client_id: str | None, ip: str, config: SandboxConfig) -> tuple[Token, User]:
        """``POST /api/auth/anonymous-token``: 400 without a client id, 429 over quota."""
        # GUESS (contract §2.1 documents only the status): a FastAPI-style {"detail": ...} body.
        if not client_id or not client_id.strip():
            raise ApiError(400, "X-Client-Id header is required", envelope="detail")
        if len(client_id) > MAX_CLIENT_ID:
            raise ApiError(400, f"X-Client-Id must be at most {MAX_CLIENT_ID} characters", envelope="detail")
        now = self._clock()
        if config.quota_enabled:
            self._check_quota(client_id, ip, now, config)
        user = self._new_user(anonymous=True, credits=config.starting_credits)
        token = self._new_token(user.user_id, now, config.token_ttl_seconds, client_id)
        self._by_client.setdefault(client_id, []).append(token)
        self._by_ip.setdefault(ip, []).append(now)
        return token, user

    def _check_quota(self, client_id: str, ip: str, now: float, config: SandboxConfig) -> None:
        since = now - config.quota_window_seconds
        # An expired token frees its client id's slot (contract §2.1 INFERRED); the IP cap counts all.
        live = [t for t in self._by_client.get(client_id, []) if t.issued_at > since and not t.expired(now)]
        recent_ip = [at for at in self._by_ip.get(ip, []) if at > since]
        if len(live) >= config.tokens_per_client or len(recent_ip) >= config.tokens_per_ip:
            raise ApiError(
                429,
                "Too many anonymous token requests; try again later",
                headers={"Retry-After": f"{config.retry_after_seconds:g}"},
            )

    def create_user(self, *, credits: int, anonymous: bool, ttl_seconds: float) -> tuple[Token, User]:
        """A user and token outside the quota (control API: load tests, manual tokens)."""
        user = self._new_user(anonymous=anonymous, credits=credits)
        return self._new_token(user.user_id, self._clock(), ttl_seconds, None), user

    def _new_user(self, *, anonymous: bool, credits: int) -> User:
        prefix = "anon_" if anonymous else "user_"
        user = User(prefix + "".join(secrets.choice(_ALNUM) for _ in range(16)), anonymous, credits)
        self.users[user.user_id] = user
        return user

    def _new_token(self, user_id: str, now: float, ttl: float, client_id: str | None) -> Token:
        token = Token(TOKEN_PREFIX + secrets.token_urlsafe(32), user_id, now, now + ttl, client_id)
        self._tokens[token.secret] = token
        return token

    def authenticate(self, authorization: str | None, config: SandboxConfig) -> tuple[Token, User]:
        """The token and user behind an ``Authorization: Bearer`` header, else 1001."""
        scheme, _, secret = (authorization or "").strip().partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise unauthorized("missing authentication token", config)
        if secret.startswith(CLAIM_PREFIX):
            raise unauthorized("invalid token: claim tokens grant no API access", config)
        token = self._tokens.get(secret)
        if token is None:
            raise unauthorized("invalid authentication token", config)
        if token.expired(self._clock()):
            raise unauthorized("token has expired", config)
        return token, self.users[token.user_id]

    def expire(self, token: Token) -> None:
        """Make ``token`` expire now (fault ``token_expired``)."""
        token.expires_at = min(token.expires_at, self._clock())

    def claim(self, user: User, task_id: str, session_id: str) -> Claim:
        """A reusable 7-day ``clm_`` token for the browser hand-off."""
        # Not stored: a claim token is only ever read by the web app, never by this API.
        return Claim(
            CLAIM_PREFIX + secrets.token_urlsafe(24),
            user.user_id,
            task_id,
            session_id,
            self._clock() + CLAIM_TTL_SECONDS,
        )


def unauthorized(message: str, config: SandboxConfig) -> ApiError:
    """Code 1001 under the configured HTTP status."""
    return ApiError(config.status_1001, message, code=1001)


def iso(epoch: float) -> str:
    """``2026-03-26T00:00:00Z`` form of an epoch time."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
