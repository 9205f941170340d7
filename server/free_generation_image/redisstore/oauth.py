"""OAuth state on Redis, so a user authorized through one replica is known to all of them.

Same methods as ``remote.db.Database`` (the SQLite one); expiry is Redis's own (PX), so nothing needs
purging. Tokens and codes are keyed by their SHA-256 digests, NemoVideo tokens stay encrypted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis
import redis.asyncio

from free_generation_image.redisstore.hub import SOCKET_SECONDS, unavailable
from free_generation_image.remote.db import CodeRow, GrantRow, TokenKind, TokenRow

T = TypeVar("T")

# Spend a refresh token once: only the caller that deletes it may rotate the grant's tokens.
_ROTATE = """
if redis.call('del', KEYS[1]) == 0 then return 0 end
local members = redis.call('smembers', KEYS[2])
for _, key in ipairs(members) do redis.call('del', key) end
redis.call('del', KEYS[2])
return 1
"""
_DROP_GRANT = """
local members = redis.call('smembers', KEYS[2])
for _, key in ipairs(members) do redis.call('del', key) end
redis.call('del', KEYS[1], KEYS[2])
return 1
"""


def _px(expires_at: float) -> int:
    return max(1, int((expires_at - time.time()) * 1000))


class RedisOAuthStore:
    """Clients, pending authorizations, grants, codes and tokens under ``<namespace>:oauth:``."""

    def __init__(self, url: str, namespace: str = "fgi") -> None:
        self._r = redis.asyncio.Redis.from_url(
            url, socket_timeout=SOCKET_SECONDS, socket_connect_timeout=SOCKET_SECONDS, decode_responses=True
        )
        self._p = f"{namespace}:oauth:"
        self._rotate = self._r.register_script(_ROTATE)
        self._drop = self._r.register_script(_DROP_GRANT)

    async def _do(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except redis.RedisError as err:
            unavailable(err)

    def close(self) -> None:
        """Connections close with the event loop; nothing is buffered."""

    # ----------------------------------------------------------------- clients
    async def put_client(self, client_id: str, info: str) -> None:
        await self._do(lambda: self._r.set(f"{self._p}client:{client_id}", info))

    async def get_client(self, client_id: str) -> str | None:
        value = await self._do(lambda: self._r.get(f"{self._p}client:{client_id}"))
        return str(value) if value is not None else None

    # ----------------------------------------------------------------- pending authorizations
    async def put_pending(self, pending_id: str, client_id: str, params: str, expires_at: float) -> None:
        value = json.dumps([client_id, params])
        await self._do(lambda: self._r.set(f"{self._p}pending:{pending_id}", value, px=_px(expires_at)))

    async def get_pending(self, pending_id: str) -> tuple[str, str] | None:
        return _pair(await self._do(lambda: self._r.get(f"{self._p}pending:{pending_id}")))

    async def take_pending(self, pending_id: str) -> tuple[str, str] | None:
        return _pair(await self._do(lambda: self._r.getdel(f"{self._p}pending:{pending_id}")))

    # ----------------------------------------------------------------- grants, codes, tokens
    def _members(self, grant_id: str) -> str:
        return f"{self._p}grant-keys:{grant_id}"

    async def put_grant(self, grant: GrantRow) -> None:
        fields: dict[Any, Any] = {
            "subject": grant.subject,
            "client_id": grant.client_id,
            "token_enc": grant.token_enc,
            "anonymous": "1" if grant.anonymous else "0",
            "nemo_expires_at": "" if grant.nemo_expires_at is None else repr(grant.nemo_expires_at),
        }
        await self._do(lambda: self._r.hset(f"{self._p}grant:{grant.id}", mapping=fields))

    async def get_grant(self, grant_id: str) -> GrantRow | None:
        row: dict[str, str] = await self._do(lambda: self._r.hgetall(f"{self._p}grant:{grant_id}"))  # type: ignore[arg-type,return-value]
        if not row:
            return None
        expires = row.get("nemo_expires_at") or ""
        return GrantRow(
            grant_id,
            row.get("subject", ""),
            row.get("client_id", ""),
            row.get("token_enc", ""),
            row.get("anonymous") == "1",
            float(expires) if expires else None,
        )

    async def delete_grant(self, grant_id: str) -> None:
        keys = [f"{self._p}grant:{grant_id}", self._members(grant_id)]
        await self._do(lambda: self._drop(keys=keys, args=[]))

    async def _put_owned(self, key: str, grant_id: str, value: str, expires_at: float) -> None:
        async def put() -> None:
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.set(key, value, px=_px(expires_at))
                pipe.sadd(self._members(grant_id), key)
                await pipe.execute()

        await self._do(put)

    async def put_code(self, code_hash: str, row: CodeRow) -> None:
        value = json.dumps([row.grant_id, row.client_id, row.params, row.expires_at])
        await self._put_owned(f"{self._p}code:{code_hash}", row.grant_id, value, row.expires_at)

    async def get_code(self, code_hash: str) -> CodeRow | None:
        raw = await self._do(lambda: self._r.get(f"{self._p}code:{code_hash}"))
        if raw is None:
            return None
        grant_id, client_id, params, expires_at = json.loads(raw)
        return CodeRow(str(grant_id), str(client_id), str(params), float(expires_at))

    async def take_code(self, code_hash: str) -> bool:
        return bool(await self._do(lambda: self._r.delete(f"{self._p}code:{code_hash}")))

    async def put_token(self, token_hash: str, row: TokenRow) -> None:
        value = json.dumps([row.kind, row.grant_id, row.client_id, row.scopes, row.resource, row.expires_at])
        await self._put_owned(f"{self._p}token:{token_hash}", row.grant_id, value, row.expires_at)

    async def get_token(self, token_hash: str) -> TokenRow | None:
        raw = await self._do(lambda: self._r.get(f"{self._p}token:{token_hash}"))
        if raw is None:
            return None
        kind_raw, grant_id, client_id, scopes, resource, expires_at = json.loads(raw)
        if kind_raw not in ("access", "refresh"):
            return None
        kind: TokenKind = "access" if kind_raw == "access" else "refresh"
        return TokenRow(
            kind, str(grant_id), str(client_id), [str(s) for s in scopes], resource, float(expires_at)
        )

    async def rotate(self, grant_id: str, old_refresh_hash: str) -> bool:
        keys = [f"{self._p}token:{old_refresh_hash}", self._members(grant_id)]
        return bool(await self._do(lambda: self._rotate(keys=keys, args=[])))

    async def purge_expired(self, now: float | None = None) -> int:
        """Redis expires pending requests, codes and tokens by itself."""
        return 0


def _pair(raw: object) -> tuple[str, str] | None:
    if not isinstance(raw, str):
        return None
    client_id, params = json.loads(raw)
    return str(client_id), str(params)


__all__ = ["RedisOAuthStore"]
