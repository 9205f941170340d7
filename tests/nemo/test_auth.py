"""Client id, anonymous token cache (per API URL), single-flight refresh, NEMO_TOKEN handling."""

from __future__ import annotations

import json
import logging
import stat
import time
from pathlib import Path

import anyio
import httpx2
import pytest

from free_generation_image.errors import InvalidInput
from free_generation_image.nemo.auth import REFRESH_MARGIN, Credential
from free_generation_image.nemo.errors import AuthError, RateLimited

from .conftest import API, MakeClient
from .fakes import TOKEN_PATH, FakeBackend, Responder, ok, reply

pytestmark = pytest.mark.anyio

CREDITS = "/api/credits/balance/simple"
BALANCE = {"available": 100, "frozen": 0, "total": 100}
REFUSED = reply(200, json={"code": 1001, "message": "token has expired"})


def bearer(request: httpx2.Request) -> str:
    return request.headers.get("authorization", "")


def seed(config_dir: Path, name: str, content: bytes) -> None:
    """Put a file in the config dir before the client starts (what an earlier run left)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / name).write_bytes(content)


def stored_bytes(config_dir: Path) -> bytes:
    """Everything written under the config dir."""
    if not config_dir.exists():
        return b""
    return b"".join(p.read_bytes() for p in config_dir.rglob("*") if p.is_file())


def token_file(config_dir: Path) -> dict[str, dict[str, object]]:
    value = json.loads((config_dir / "token.json").read_text())
    assert isinstance(value, dict)
    return value


async def test_anonymous_token_is_obtained_with_client_id_and_cached(
    backend: FakeBackend, make_client: MakeClient, config_dir: Path
) -> None:
    backend.on("GET", CREDITS, ok(BALANCE))
    async with make_client() as client:
        info = await client.ensure_token()
        await client.credits()
    assert info.anonymous
    assert info.user_id == "anon_0123456789abcdef"
    assert info.expires_at == pytest.approx(32472144000.0)  # 2999-01-01
    [token_request] = backend.calls("POST", TOKEN_PATH)
    client_id = (config_dir / "client_id").read_text()
    assert token_request.headers["x-client-id"] == client_id
    assert "authorization" not in token_request.headers
    assert bearer(backend.calls("GET", CREDITS)[0]) == "Bearer nmv_usr_t1"
    cached = token_file(config_dir)
    assert cached[API]["token"] == "nmv_usr_t1"
    assert stat.S_IMODE((config_dir / "token.json").stat().st_mode) == 0o600


async def test_cached_token_is_reused_by_the_next_process(
    backend: FakeBackend, make_client: MakeClient
) -> None:
    backend.on("GET", CREDITS, ok(BALANCE))
    async with make_client() as first:
        await first.credits()
    async with make_client() as second:
        await second.credits()
        assert second.user_id == "anon_0123456789abcdef"
    assert len(backend.tokens.issued) == 1
    assert [bearer(r) for r in backend.calls("GET", CREDITS)] == ["Bearer nmv_usr_t1"] * 2


async def test_token_is_keyed_by_api_url(
    backend: FakeBackend, make_client: MakeClient, config_dir: Path
) -> None:
    backend.on("GET", CREDITS, ok(BALANCE))
    async with make_client(api_url="http://127.0.0.1:8765") as sandbox:
        await sandbox.credits()
    async with make_client(api_url=API) as production:
        await production.credits()
    requests = backend.calls("GET", CREDITS)
    assert [r.url.host for r in requests] == ["127.0.0.1", "api.test"]
    assert [bearer(r) for r in requests] == ["Bearer nmv_usr_t1", "Bearer nmv_usr_t2"]  # never the sandbox's
    assert set(token_file(config_dir)) == {"http://127.0.0.1:8765", API}


async def test_token_close_to_expiry_is_replaced(backend: FakeBackend, make_client: MakeClient) -> None:
    soon = time.time() + REFRESH_MARGIN / 2
    backend.tokens.expires_at = soon
    backend.on("GET", CREDITS, ok(BALANCE))
    async with make_client() as client:
        await client.credits()
        await client.credits()  # the first token is already inside the refresh margin
    assert len(backend.tokens.issued) == 2


async def test_expires_at_as_epoch_seconds_is_understood(
    backend: FakeBackend, make_client: MakeClient
) -> None:
    backend.tokens.expires_at = time.time() + 7 * 86400
    async with make_client() as client:
        info = await client.ensure_token()
    assert info.expires_at == pytest.approx(backend.tokens.expires_at)


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2, 3]", b'{"https://api.test": {"token": 5}}'])
async def test_corrupt_token_cache_is_ignored_and_replaced(
    backend: FakeBackend, make_client: MakeClient, config_dir: Path, content: bytes
) -> None:
    seed(config_dir, "token.json", content)
    backend.on("GET", CREDITS, ok(BALANCE))
    async with make_client() as client:
        await client.credits()
    assert len(backend.tokens.issued) == 1
    assert token_file(config_dir)[API]["token"] == "nmv_usr_t1"


async def test_nemo_token_is_used_and_never_written(
    backend: FakeBackend, make_client: MakeClient, config_dir: Path
) -> None:
    backend.on("GET", CREDITS, ok(BALANCE))
    async with make_client(token="nmv_usr_personal") as client:
        info = await client.ensure_token()
        await client.credits()
    assert not info.anonymous
    assert backend.tokens.issued == []
    assert bearer(backend.calls("GET", CREDITS)[0]) == "Bearer nmv_usr_personal"
    assert not (config_dir / "token.json").exists()
    assert b"nmv_usr_personal" not in stored_bytes(config_dir)


async def test_refused_nemo_token_is_not_refreshed(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("GET", CREDITS, REFUSED)
    async with make_client(token="nmv_usr_personal") as client:
        with pytest.raises(AuthError) as info:
            await client.credits()
    assert "NEMO_TOKEN" in info.value.hint
    assert backend.tokens.issued == []
    assert len(backend.calls("GET", CREDITS)) == 1


@pytest.mark.parametrize("refusal", [REFUSED, reply(401, json={"code": 1001, "message": "invalid token"})])
async def test_refused_anonymous_token_is_refreshed_once(
    backend: FakeBackend, make_client: MakeClient, refusal: Responder
) -> None:
    backend.on("GET", CREDITS, refusal, ok(BALANCE))
    async with make_client() as client:
        credits = await client.credits()
    assert credits.available == 100
    assert [bearer(r) for r in backend.calls("GET", CREDITS)] == ["Bearer nmv_usr_t1", "Bearer nmv_usr_t2"]


async def test_second_refusal_is_raised(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("GET", CREDITS, REFUSED)
    async with make_client() as client:
        with pytest.raises(AuthError) as info:
            await client.credits()
    assert len(backend.calls("GET", CREDITS)) == 2
    assert len(backend.tokens.issued) == 2
    assert "fresh anonymous token" in info.value.hint


async def test_forbidden_is_not_a_token_problem(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("GET", CREDITS, reply(403, json={"detail": "scope render required"}))
    async with make_client() as client:
        with pytest.raises(AuthError):
            await client.credits()
    assert len(backend.tokens.issued) == 1  # no second token: a 403 is about rights, not validity


async def test_concurrent_first_use_makes_one_token_request(
    backend: FakeBackend, make_client: MakeClient
) -> None:
    backend.tokens.delay = 0.05
    backend.on("GET", CREDITS, ok(BALANCE))
    async with make_client() as client, anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(client.credits)
    assert len(backend.tokens.issued) == 1
    assert len(backend.calls("GET", CREDITS)) == 10


async def test_concurrent_refusals_share_one_refresh(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.tokens.delay = 0.02

    def answer(request: httpx2.Request) -> httpx2.Response:
        if bearer(request) == "Bearer nmv_usr_t1":
            return httpx2.Response(401, json={"code": 1001, "message": "expired"})
        return httpx2.Response(200, json={"code": 0, "data": BALANCE})

    backend.on("GET", CREDITS, answer)
    async with make_client() as client:
        await client.ensure_token()
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(client.credits)
    assert backend.tokens.issued == ["nmv_usr_t1", "nmv_usr_t2"]
    assert len(backend.calls("GET", CREDITS)) == 20


async def test_rate_limited_token_request_waits_and_retries_once(
    backend: FakeBackend, make_client: MakeClient, sleeps: list[float]
) -> None:
    backend.on(
        "POST",
        TOKEN_PATH,
        reply(429, json={"detail": "Too Many Requests"}, headers={"Retry-After": "3"}),
        backend.tokens,
    )
    async with make_client() as client:
        await client.ensure_token()
    assert sleeps == [3.0]
    assert len(backend.calls("POST", TOKEN_PATH)) == 2


async def test_rate_limited_twice_is_raised_with_the_wait(
    backend: FakeBackend, make_client: MakeClient, sleeps: list[float]
) -> None:
    backend.on("POST", TOKEN_PATH, reply(429, json={"code": 429, "message": "quota"}))
    async with make_client() as client:
        with pytest.raises(RateLimited) as info:
            await client.ensure_token()
    assert sleeps == [30.0]  # no Retry-After: the documented 30 s
    assert info.value.retry_after == 30.0
    assert len(backend.calls("POST", TOKEN_PATH)) == 2


async def test_configured_client_id_wins(
    backend: FakeBackend, make_client: MakeClient, config_dir: Path
) -> None:
    async with make_client(client_id="my-stable-id") as client:
        await client.ensure_token()
    assert backend.calls("POST", TOKEN_PATH)[0].headers["x-client-id"] == "my-stable-id"
    assert not (config_dir / "client_id").exists()


async def test_invalid_client_id_is_refused_before_sending(
    backend: FakeBackend, make_client: MakeClient
) -> None:
    async with make_client(client_id="x" * 65) as client:
        with pytest.raises(InvalidInput, match="NEMO_CLIENT_ID"):
            await client.ensure_token()
    assert backend.requests == []


async def test_persisted_client_id_is_reused(
    backend: FakeBackend, make_client: MakeClient, config_dir: Path
) -> None:
    seed(config_dir, "client_id", b"client-1700000000-abc\n")
    async with make_client() as client:
        await client.ensure_token()
    assert backend.calls("POST", TOKEN_PATH)[0].headers["x-client-id"] == "client-1700000000-abc"


async def test_token_never_reaches_logs_or_reprs(
    backend: FakeBackend, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    backend.on("GET", CREDITS, REFUSED, ok(BALANCE))
    with caplog.at_level(logging.DEBUG):
        async with make_client() as client:
            info = await client.ensure_token()
            await client.credits()
    text = "\n".join(r.getMessage() for r in caplog.records) + repr(info) + repr(client)
    assert caplog.records
    for token in backend.tokens.issued:
        assert token not in text
    assert "nmv_usr_secret" not in repr(Credential("nmv_usr_secret", None, anonymous=True, expires_at=None))
