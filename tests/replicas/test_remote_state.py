"""OAuth state and request limits behave the same in SQLite (one machine) and on Redis (replicas)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from free_generation_image.remote.db import CodeRow, Database, GrantRow, OAuthStore, TokenRow
from free_generation_image.remote.limits import Limiter, RateLimiter
from tests.replicas.conftest import RedisServer

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", "redis"])
async def oauth(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OAuthStore]:
    if request.param == "sqlite":
        db = Database(tmp_path / "remote.db")
        yield db
        db.close()
        return
    from free_generation_image.redisstore.oauth import RedisOAuthStore

    server: RedisServer = request.getfixturevalue("redis_server")
    yield RedisOAuthStore(server.url)


def _grant(grant_id: str = "g1") -> GrantRow:
    return GrantRow(grant_id, "subject", "client", "enc", anonymous=False, nemo_expires_at=None)


async def test_clients_and_pending_authorizations(oauth: OAuthStore) -> None:
    await oauth.put_client("c1", '{"client_id": "c1"}')
    assert await oauth.get_client("c1") == '{"client_id": "c1"}'
    assert await oauth.get_client("nope") is None
    await oauth.put_pending("p1", "c1", "params", time.time() + 60)
    assert await oauth.get_pending("p1") == ("c1", "params")
    assert await oauth.take_pending("p1") == ("c1", "params")
    assert await oauth.take_pending("p1") is None  # a consent form is submitted once


async def test_codes_are_used_once_and_refresh_tokens_rotate_once(oauth: OAuthStore) -> None:
    await oauth.put_grant(_grant())
    assert await oauth.get_grant("g1") == _grant()
    later = time.time() + 60
    await oauth.put_code("h-code", CodeRow("g1", "client", "params", later))
    assert (await oauth.get_code("h-code")) == CodeRow("g1", "client", "params", later)
    assert await oauth.take_code("h-code") and not await oauth.take_code("h-code")
    await oauth.put_token("h-access", TokenRow("access", "g1", "client", ["a", "b"], None, later))
    await oauth.put_token("h-refresh", TokenRow("refresh", "g1", "client", [], "https://x/mcp", later))
    assert (await oauth.get_token("h-access")) == TokenRow("access", "g1", "client", ["a", "b"], None, later)
    assert await oauth.rotate("g1", "h-refresh")
    assert await oauth.get_token("h-access") is None  # rotation drops every token of the grant
    assert not await oauth.rotate("g1", "h-refresh")  # a replayed refresh token


async def test_revoking_a_grant_drops_its_tokens(oauth: OAuthStore) -> None:
    await oauth.put_grant(_grant("g2"))
    await oauth.put_token("h-a2", TokenRow("access", "g2", "client", [], None, time.time() + 60))
    await oauth.delete_grant("g2")
    assert await oauth.get_grant("g2") is None and await oauth.get_token("h-a2") is None


async def test_a_limit_is_shared_by_replicas(request: pytest.FixtureRequest) -> None:
    from free_generation_image.redisstore.limits import RedisRateLimiter

    server: RedisServer = request.getfixturevalue("redis_server")
    one: Limiter = RedisRateLimiter(server.url, 60, 3)
    two: Limiter = RedisRateLimiter(server.url, 60, 3)
    assert [await one.acquire("a"), await two.acquire("a"), await one.acquire("a")] == [0.0, 0.0, 0.0]
    assert 0.5 < await two.acquire("a") <= 1.0  # the fourth, on either replica, waits about a second
    assert await two.acquire("b") == 0.0  # another user's bucket is untouched
    local: Limiter = RateLimiter(60, 3)
    assert [await local.acquire("a") for _ in range(4)][-1] > 0.5
