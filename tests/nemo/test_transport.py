"""Retry policy, headers and secrets of the transport, through the client's public calls."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx2
import pytest

from free_generation_image.config import Settings
from free_generation_image.nemo.client import NemoClient
from free_generation_image.nemo.errors import BackendUnavailable, BadResponse, RateLimited
from free_generation_image.nemo.transport import backoff_delay, is_http_url, loggable
from free_generation_image.store import Store

from .conftest import API, MakeClient
from .fakes import FakeBackend, fail, ok, reply

pytestmark = pytest.mark.anyio

CREDITS = "/api/credits/balance/simple"
SESSION = "/api/tasks/me/with-session/nemo_agent"
BALANCE = {"available": 5, "frozen": 0, "total": 5}
SESSION_DATA = {"task_id": "task_1", "session_id": "123"}


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [
        (1, 0.0, 0.25),
        (1, 0.5, 0.5),
        (1, 1.0, 0.75),
        (2, 0.5, 1.0),
        (3, 0.5, 2.0),
        (10, 0.5, 8.0),
        (10, 1.0, 12.0),
    ],
)
def test_backoff_delay(attempt: int, rand: float, expected: float) -> None:
    assert backoff_delay(attempt, rand) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.b/c", True),
        ("http://127.0.0.1:9/x", True),
        ("ftp://a.b/c", False),
        ("file:///etc/passwd", False),
        ("https://", False),
        ("/relative", False),
        ("javascript:alert(1)", False),
        ("", False),
    ],
)
def test_is_http_url(url: str, expected: bool) -> None:
    assert is_http_url(url) is expected


def test_loggable_drops_query_and_credentials() -> None:
    assert loggable(httpx2.URL("https://u:p@cdn.test/a.mp4?sig=secret#x")) == "https://cdn.test/a.mp4"


async def test_429_waits_retry_after_and_retries_once(
    backend: FakeBackend, make_client: MakeClient, sleeps: list[float]
) -> None:
    backend.on("GET", CREDITS, reply(429, json={"detail": "slow"}, headers={"Retry-After": "7"}), ok(BALANCE))
    async with make_client(token="t") as client:
        assert (await client.credits()).available == 5
    assert sleeps == [7.0]
    assert len(backend.calls("GET", CREDITS)) == 2


async def test_429_on_a_post_is_retried_once_too(
    backend: FakeBackend, make_client: MakeClient, sleeps: list[float]
) -> None:
    """A 429 proves the request was not processed, so even a POST may be repeated."""
    backend.on("POST", SESSION, reply(429, json={"detail": "slow"}), ok(SESSION_DATA))
    async with make_client(token="t") as client:
        assert (await client.create_session("p", "en")).session_id == "123"
    assert sleeps == [30.0]


async def test_long_retry_after_is_not_slept_through(
    backend: FakeBackend, make_client: MakeClient, sleeps: list[float]
) -> None:
    backend.on("GET", CREDITS, reply(429, json={"detail": "quota"}, headers={"Retry-After": "86400"}))
    async with make_client(token="t") as client:
        with pytest.raises(RateLimited) as info:
            await client.credits()
    assert sleeps == []
    assert info.value.retry_after == 86400
    assert len(backend.calls("GET", CREDITS)) == 1


async def test_get_5xx_is_retried_twice_with_backoff(
    backend: FakeBackend, make_client: MakeClient, sleeps: list[float]
) -> None:
    backend.on("GET", CREDITS, reply(502, content=b"<html>bad gateway</html>"))
    async with make_client(token="t") as client:
        with pytest.raises(BackendUnavailable):
            await client.credits()
    assert len(backend.calls("GET", CREDITS)) == 3
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.75
    assert 0.5 <= sleeps[1] <= 1.5


async def test_get_recovers_after_a_transient_failure(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("GET", CREDITS, fail(httpx2.ReadError("reset")), reply(503), ok(BALANCE))
    async with make_client(token="t") as client:
        assert (await client.credits()).available == 5


async def test_post_5xx_is_not_retried(
    backend: FakeBackend, make_client: MakeClient, sleeps: list[float]
) -> None:
    backend.on("POST", SESSION, reply(500, json={"code": 500, "message": "boom"}), ok(SESSION_DATA))
    async with make_client(token="t") as client:
        with pytest.raises(BackendUnavailable):
            await client.create_session("p", "en")
    assert len(backend.calls("POST", SESSION)) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "error",
    [
        httpx2.ReadTimeout("slow"),
        httpx2.ReadError("reset"),
        httpx2.RemoteProtocolError("eof"),
        httpx2.WriteError("pipe"),
    ],
)
async def test_post_is_not_retried_after_it_may_have_arrived(
    backend: FakeBackend, make_client: MakeClient, error: Exception
) -> None:
    backend.on("POST", SESSION, fail(error), ok(SESSION_DATA))
    async with make_client(token="t") as client:
        with pytest.raises(BackendUnavailable) as info:
            await client.create_session("p", "en")
    assert len(backend.calls("POST", SESSION)) == 1
    assert info.value.__cause__ is error


@pytest.mark.parametrize(
    "error", [httpx2.ConnectError("refused"), httpx2.ConnectTimeout("slow"), httpx2.PoolTimeout("busy")]
)
async def test_post_is_retried_when_it_never_left(
    backend: FakeBackend, make_client: MakeClient, error: Exception
) -> None:
    backend.on("POST", SESSION, fail(error), ok(SESSION_DATA))
    async with make_client(token="t") as client:
        assert (await client.create_session("p", "en")).task_id == "task_1"
    assert len(backend.calls("POST", SESSION)) == 2


async def test_network_failure_message_is_clean(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("GET", CREDITS, fail(httpx2.ConnectError("[Errno 111] Connection refused")))
    async with make_client(token="t") as client:
        with pytest.raises(BackendUnavailable) as info:
            await client.credits()
    assert (
        info.value.message == "Could not reach the NemoVideo backend: the connection failed (ConnectError)."
    )


async def test_headers_on_every_request(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("GET", CREDITS, ok(BALANCE))
    async with make_client(skill_source="clawhub") as client:
        await client.credits()
        client.set_client_name("Claude Desktop")  # the explicit setting still wins
        await client.credits()
    for request in backend.requests:
        assert request.headers["x-skill-source"] == "free-generation-image"
        assert request.headers["x-skill-version"]
        assert request.headers["x-skill-platform"] == "clawhub"
        assert request.headers["user-agent"].startswith("free-generation-image/")
    assert backend.calls("GET", CREDITS)[0].headers["accept"] == "application/json"


async def test_client_name_is_the_platform_fallback(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("GET", CREDITS, ok(BALANCE))
    async with make_client(token="t") as client:
        await client.credits()
        client.set_client_name("claude-ai")
        await client.credits()
    platforms = [r.headers["x-skill-platform"] for r in backend.calls("GET", CREDITS)]
    assert platforms == ["unknown", "claude-desktop"]


async def test_requests_are_logged_without_secrets(
    backend: FakeBackend, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    backend.on("GET", CREDITS, ok(BALANCE))
    with caplog.at_level(logging.DEBUG, logger="free_generation_image.nemo"):
        async with make_client(token="nmv_usr_do_not_log") as client:
            await client.credits()
    lines = [r.getMessage() for r in caplog.records]
    assert any("GET https://api.test/api/credits/balance/simple -> 200" in line for line in lines)
    assert all("nmv_usr_do_not_log" not in line for line in lines)


async def test_echoed_token_is_scrubbed_from_errors(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("GET", CREDITS, reply(400, json={"message": "bad token nmv_usr_echoed in header"}))
    async with make_client(token="nmv_usr_echoed") as client:
        with pytest.raises(Exception) as info:
            await client.credits()
    assert "nmv_usr_echoed" not in str(info.value)
    assert "***" in str(info.value)


async def test_only_an_owned_http_client_is_closed(backend: FakeBackend, config_dir: Path) -> None:
    backend.on("GET", CREDITS, ok(BALANCE))
    settings = Settings(api_url=API, token="t", config_dir=config_dir)
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(backend))
    async with NemoClient(settings, Store(config_dir), http=http) as client:
        await client.credits()
    assert not http.is_closed  # the caller's client stays usable
    await http.aclose()
    owned = NemoClient(settings, Store(config_dir))
    await owned.aclose()
    assert owned._http.is_closed


async def test_huge_error_page_still_maps_by_status(backend: FakeBackend, make_client: MakeClient) -> None:
    page = b"<html>" + b"x" * 500_000 + b"</html>"
    backend.on("GET", "/big.mp4", reply(502, content=page, headers={"content-type": "text/html"}))
    async with make_client(token="t") as client:
        with pytest.raises(BackendUnavailable, match="HTTP 502 Bad Gateway"):
            async with client.download("https://cdn.test/big.mp4"):
                pass


async def test_oversized_json_answer_is_refused(
    backend: FakeBackend, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("free_generation_image.nemo.transport.MAX_JSON_BODY", 1000)
    backend.on("GET", CREDITS, ok({"available": 1, "padding": "x" * 5000}))
    async with make_client(token="t") as client:
        with pytest.raises(BadResponse, match="more than 0 KiB"):
            await client.credits()
