"""Every contract fixture, as raw bytes through httpx2.MockTransport, into the real NemoClient.

No sandbox: the client is checked against the contract, not against our own emulator.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from free_generation_image.config import Settings
from free_generation_image.nemo import errors as nemo_errors
from free_generation_image.nemo.client import NemoClient
from free_generation_image.nemo.events import StreamEvent
from free_generation_image.nemo.models import RenderStatus, epoch_seconds
from free_generation_image.nemo.stream import read_events
from free_generation_image.store import Store

from .fixtures import ALL, DRAFT, ENDPOINTS, RID, SID, STREAMS, TASK, TOKEN_DATA, Ev, Fixture, body

pytestmark = pytest.mark.anyio

API = "https://api.contract.test"
WEB = "https://web.contract.test"
ENV_TOKEN = "nmv_usr_from_env_0123456789"


def _path(fixture: Fixture) -> str:
    return ENDPOINTS[fixture.endpoint][1].format(sid=SID, rid=RID)


def _response(fixture: Fixture) -> httpx2.Response:
    return httpx2.Response(fixture.status, headers=list(fixture.headers), content=fixture.body)


def _client(tmp_path: Path, fixture: Fixture, seen: list[httpx2.Request], sleeps: list[float]) -> NemoClient:
    path = _path(fixture)
    token_answer = httpx2.Response(
        200, json={"code": 0, "data": {**TOKEN_DATA, "expires_at": "2999-01-01T00:00:00Z"}}
    )

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if request.url.path == path:
            return _response(fixture)
        if request.url.path == ENDPOINTS["anonymous_token"][1]:
            return token_answer
        return httpx2.Response(599, text=f"unexpected {request.method} {request.url.path}")

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    # NEMO_TOKEN set, except when the fixture is the token endpoint itself (the anonymous flow).
    token = None if fixture.endpoint == "anonymous_token" else ENV_TOKEN
    settings = Settings(
        api_url=API, web_url=WEB, token=token, config_dir=tmp_path / "cfg", output_dir=tmp_path
    )
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    return NemoClient(settings, Store(settings.config_dir), http=http, retry_sleep=sleep)


async def _call(client: NemoClient, fixture: Fixture) -> Any:
    """Invoke the client operation that the fixture answers."""
    match fixture.endpoint:
        case "anonymous_token":
            return await client.ensure_token()
        case "create_session":
            return await client.create_session("project", "en")
        case "claim_token":
            return await client.claim_link(TASK, SID)
        case "credits":
            return await client.credits()
        case "state":
            return await client.state(SID)
        case "upload":
            return await client.upload_urls(SID, ["https://cdn.example/clip.mp4"])
        case "run_sse":
            return [event async for event in client.run_sse(SID, "make a sunset video")]
        case "render_submit":
            return await client.submit_render(SID, DRAFT, render_id=RID, fmt="mp4")
        case "render_poll":
            return await client.poll_render(RID)
        case "render_cancel":
            return await client.cancel_render(RID)
    raise AssertionError(fixture.endpoint)


def _meaning(fixture: Fixture, result: Any) -> Any:
    """The client's result reduced to what the fixture's ``expect.data`` states."""
    data = fixture.expect.data
    match fixture.endpoint:
        case "anonymous_token":
            return {
                "user_id": result.user_id,
                "anonymous": result.anonymous,
                "expires_at": result.expires_at,
            }, {
                "user_id": data["user_id"],
                "anonymous": True,
                "expires_at": epoch_seconds(data["expires_at"]),
            }
        case "create_session":
            return (result.task_id, result.session_id), (data["task_id"], data["session_id"])
        case "claim_token":
            return result, f"{WEB}/workspace/claim?ct={data['claim_token']}"
        case "credits":
            return (result.available, result.frozen, result.total), (
                data["available"],
                data["frozen"],
                data["total"],
            )
        case "state":
            return (result.raw, result.task_name), (data["state"], data["task_name"])
        case "upload":
            return [(f.filename, f.file_type, f.cdn_url, f.duration) for f in result], [
                (f["filename"], f["file_type"], f["cdn_url"], f["duration"]) for f in data["files"]
            ]
    raise AssertionError(fixture.endpoint)


def _event(event: StreamEvent) -> Ev:
    match event.kind:
        case "text":
            return Ev("text", event.text, event.partial)
        case "tool_call" | "tool_result":
            return Ev(event.kind, event.name)
        case "error":
            return Ev("error", event.message)
    return Ev("heartbeat")


@pytest.mark.parametrize("fixture", ALL, ids=[f.name for f in ALL])
async def test_client_accepts(fixture: Fixture, tmp_path: Path) -> None:
    seen: list[httpx2.Request] = []
    sleeps: list[float] = []
    expect = fixture.expect
    async with _client(tmp_path, fixture, seen, sleeps) as client:
        if expect.error is not None:
            with pytest.raises(nemo_errors.NemoError) as info:
                await _call(client, fixture)
            err = info.value
            assert type(err).__name__ == expect.error, f"{type(err).__name__}: {err.message}"
            assert issubclass(type(err), getattr(nemo_errors, expect.error))
            for name, value in expect.attrs.items():
                assert getattr(err, name) == value, name
            assert "<" not in err.message
            assert len(err.message) <= 300
            assert ENV_TOKEN not in err.user_text()
            if expect.error == "RateLimited":
                assert sleeps[:1] == [expect.attrs["retry_after"]]  # honoured once, then surfaced
            return
        result = await _call(client, fixture)
    if fixture.endpoint == "run_sse":
        assert [_event(e) for e in result] == list(expect.events)
    elif expect.render is not None:
        assert isinstance(result, RenderStatus)
        assert {k: getattr(result, k) for k in expect.render} == dict(expect.render)
    else:
        got, want = _meaning(fixture, result)
        assert got == want
    # Every request carried the attribution headers (contract §1.1).
    for request in seen:
        assert request.headers["X-Skill-Source"]
        assert request.headers["X-Skill-Version"]
        assert request.headers["X-Skill-Platform"]


@pytest.mark.parametrize(
    "fixture", [f for f in ALL if f.expect.error is None and f.endpoint != "run_sse"], ids=lambda f: f.name
)
def test_fixture_bodies_are_valid_json(fixture: Fixture) -> None:
    """The success fixtures are well-formed JSON objects (the malformed ones are errors on purpose)."""
    assert isinstance(json.loads(fixture.body), dict)


def test_sse_fixtures_end_with_a_blank_line() -> None:
    """ADK frames every event as ``data: <json>\\n\\n`` (§4.1); the fixtures must too."""
    for fixture in STREAMS:
        assert fixture.body == b"" or fixture.body.endswith(b"\n\n"), fixture.name
        assert fixture.content_type == "text/event-stream"


class Chunks(httpx2.AsyncByteStream):
    """A response body delivered in exactly the given pieces."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


async def _read(chunks: list[bytes]) -> list[Ev]:
    response = httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=Chunks(chunks))
    return [_event(e) async for e in read_events(response, idle_timeout=5, max_seconds=5)]


@pytest.mark.parametrize("fixture", STREAMS, ids=[f.name for f in STREAMS])
async def test_stream_cut_into_single_bytes(fixture: Fixture) -> None:
    """One byte per chunk: every cut position at once, including inside UTF-8 sequences."""
    assert await _read([fixture.body[i : i + 1] for i in range(len(fixture.body))]) == list(
        fixture.expect.events
    )


@pytest.mark.parametrize("name", ["heartbeat_forms", "adk_partial_then_aggregate", "typed_dialect"])
async def test_stream_cut_in_two_at_every_position(name: str) -> None:
    fixture = next(f for f in STREAMS if f.name == name)
    raw = fixture.body
    for cut in range(len(raw) + 1):
        assert await _read([raw[:cut], raw[cut:]]) == list(fixture.expect.events), cut


async def test_stream_with_crlf_line_ends() -> None:
    """The SSE spec allows CRLF; a proxy may rewrite ADK's LF framing."""
    fixture = next(f for f in STREAMS if f.name == "heartbeat_forms")
    raw = fixture.body.replace(b"\n", b"\r\n")
    assert await _read([raw[i : i + 3] for i in range(0, len(raw), 3)]) == list(fixture.expect.events)


def test_every_endpoint_has_a_fixture() -> None:
    assert {f.endpoint for f in ALL} == set(ENDPOINTS)


def test_fixture_body_helper_is_compact_utf8() -> None:
    assert body({"a": "é"}) == '{"a":"é"}'.encode()
