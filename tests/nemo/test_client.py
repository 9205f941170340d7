"""NemoClient's resource calls: sessions, claim link, credits, state."""

from __future__ import annotations

import json

import pytest

from free_generation_image.nemo.errors import BadResponse, SessionNotFound
from free_generation_image.nemo.models import Credits, SessionInfo, SessionState

from .conftest import WEB, MakeClient
from .fakes import FakeBackend, Responder, ok, reply

pytestmark = pytest.mark.anyio

SESSION = "/api/tasks/me/with-session/nemo_agent"
CLAIM = "/api/auth/claim-token"
CREDITS = "/api/credits/balance/simple"
SID = "5529798706024415232"
STATE = f"/api/state/nemo_agent/me/{SID}/latest"


async def test_create_session(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("POST", SESSION, ok({"task_id": "task_1", "session_id": 5529798706024415232}))
    async with make_client() as client:
        info = await client.create_session("Sunset", "zh-CN")
    assert info == SessionInfo(
        "task_1", SID, "anon_0123456789abcdef"
    )  # numeric id as text; user from the token
    assert json.loads(backend.calls("POST", SESSION)[0].content) == {
        "task_name": "Sunset",
        "language": "zh-CN",
    }


async def test_create_session_learns_the_user_id(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("POST", SESSION, ok({"task_id": "t", "session_id": "1", "user_id": "anon_fromsession"}))
    async with make_client(token="nmv_usr_personal") as client:
        assert client.user_id is None
        await client.create_session("p", "en")
        assert client.user_id == "anon_fromsession"
        assert (await client.ensure_token()).user_id == "anon_fromsession"


async def test_create_session_without_session_id(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("POST", SESSION, ok({"task_id": "t"}))
    async with make_client(token="t") as client:
        with pytest.raises(BadResponse):
            await client.create_session("p", "en")


async def test_claim_link(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("POST", CLAIM, ok({"claim_token": "clm_a+b/c", "expires_in": 604800}))
    async with make_client(token="nmv_usr_secret_value") as client:
        link = await client.claim_link("task_1", SID)
    assert link == f"{WEB}/workspace/claim?ct=clm_a%2Bb%2Fc"
    assert "nmv_usr" not in link
    assert json.loads(backend.calls("POST", CLAIM)[0].content) == {"task_id": "task_1", "session_id": SID}


@pytest.mark.parametrize(
    "answer",
    [
        reply(404, json={"detail": "Not Found"}),
        reply(500),
        ok({"expires_in": 1}),
        reply(200, content=b"<html>"),
    ],
)
async def test_claim_link_falls_back_to_the_task_link(
    backend: FakeBackend, make_client: MakeClient, answer: Responder
) -> None:
    backend.on("POST", CLAIM, answer)
    async with make_client(token="t") as client:
        link = await client.claim_link("task 1", SID)
    assert link == f"{WEB}/workspace/task/task%201?session={SID}"


async def test_credits(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("GET", CREDITS, ok({"available": "25000", "frozen": 40.0}))
    async with make_client(token="t") as client:
        assert await client.credits() == Credits(25000, 40, 25040)  # total derived when absent


async def test_credits_without_available(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("GET", CREDITS, ok({"balance": 3}))
    async with make_client(token="t") as client:
        with pytest.raises(BadResponse):
            await client.credits()


async def test_state(backend: FakeBackend, make_client: MakeClient) -> None:
    state = {
        "draft": {"t": [{"tt": 0, "sg": [{"d": 1}]}]},
        "generated_media": [{"url": "u"}, "junk"],
        "video_infos": [{"cdn_url": "v"}],
        "canvas_config": {"width": 1080},
        "video_analyses": {},
    }
    backend.on("GET", STATE, ok({"session_id": SID, "task_id": "t", "task_name": "Sunset", "state": state}))
    async with make_client(token="t") as client:
        result = await client.state(SID)
    assert result.raw == state
    assert result.task_name == "Sunset"
    assert result.draft == state["draft"]
    assert result.generated_media == [{"url": "u"}]
    assert result.video_infos == [{"cdn_url": "v"}]
    assert result.canvas == {"width": 1080}


@pytest.mark.parametrize(
    ("state", "draft"),
    [
        ({}, None),
        ({"draft": {}}, None),
        ({"draft": None}, None),
        ({"draft": "x"}, None),
        ({"draft": {"t": []}}, {"t": []}),
    ],
)
def test_state_properties_never_raise(state: dict[str, object], draft: object) -> None:
    parsed = SessionState.from_data({"state": state})
    assert parsed.draft == draft
    assert parsed.generated_media == []
    assert parsed.canvas == {}


def test_state_keys_one_level_up_are_tolerated() -> None:
    parsed = SessionState.from_data({"session_id": "1", "draft": {"t": [1]}})
    assert parsed.draft == {"t": [1]}
    assert parsed.session_id == "1"


async def test_lost_session(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("GET", STATE, reply(200, json={"code": 1002, "message": "session not found", "data": None}))
    async with make_client(token="t") as client:
        with pytest.raises(SessionNotFound):
            await client.state(SID)
