"""Anonymous tokens, quotas, authentication, `me`, sessions, claim tokens, credits (§2.1-2.3, §2.6)."""

from __future__ import annotations

import re

import anyio
import httpx2
import pytest

from free_generation_image.sandbox import Sandbox

from .helpers import login, new_session

pytestmark = pytest.mark.anyio


async def test_anonymous_token_has_the_contract_shape(http: httpx2.AsyncClient) -> None:
    response = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "c-shape"})
    body = response.json()
    assert response.status_code == 200 and body["code"] == 0
    data = body["data"]
    assert re.fullmatch(r"nmv_usr_[A-Za-z0-9_-]{43}", data["token"])
    assert re.fullmatch(r"anon_[a-z0-9]{16}", data["user_id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["expires_at"])
    assert data["credits"] == 100


async def test_anonymous_token_requires_a_client_id(http: httpx2.AsyncClient) -> None:
    assert (await http.post("/api/auth/anonymous-token")).status_code == 400
    too_long = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "x" * 65})
    assert too_long.status_code == 400


async def test_one_live_token_per_client_id(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    await login(http, "same-client")
    again = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "same-client"})
    assert again.status_code == 429
    assert again.headers["retry-after"] == "1"  # the FAST config's retry_after_seconds
    assert again.json()["code"] == 429
    assert (await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "other"})).status_code == 200


async def test_an_expired_token_frees_its_client_ids_quota(
    http: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    sandbox.configure(token_ttl_seconds=0.05)
    first = await login(http, "expiring")
    await anyio.sleep(0.1)
    assert (await http.get("/api/credits/balance/simple", headers=first.headers)).json()["code"] == 1001
    second = await login(http, "expiring")
    assert second.token != first.token


async def test_per_ip_quota_counts_every_client_id(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.configure(tokens_per_ip=3)
    ip = {"X-Forwarded-For": "203.0.113.7"}  # uvicorn trusts it from loopback: another "IP"
    for i in range(3):
        ok = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": f"ip-{i}", **ip})
        assert ok.status_code == 200
    refused = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "ip-4", **ip})
    assert refused.status_code == 429
    elsewhere = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "ip-4"})
    assert elsewhere.status_code == 200


async def test_quota_can_be_lifted(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.configure(quota_enabled=False)
    for _ in range(3):
        await login(http, "unlimited")


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer nmv_usr_not-a-real-token", "Basic abc", "Bearer clm_reusable-claim-token"],
)
async def test_bad_tokens_get_1001_under_401(http: httpx2.AsyncClient, authorization: str) -> None:
    response = await http.get("/api/credits/balance/simple", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.json() == {"code": 1001, "message": response.json()["message"], "data": None}


async def test_the_1001_status_is_configurable(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.configure(status_1001=200)
    response = await http.get("/api/credits/balance/simple", headers={"Authorization": "Bearer nope"})
    assert (response.status_code, response.json()["code"]) == (200, 1001)


async def test_claim_token_is_refused_as_bearer(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    session_id = await new_session(http, who)
    tasks = await http.get(f"/api/state/nemo_agent/me/{session_id}/latest", headers=who.headers)
    claim = await http.post(
        "/api/auth/claim-token",
        json={"task_id": tasks.json()["data"]["task_id"], "session_id": session_id},
        headers=who.headers,
    )
    data = claim.json()["data"]
    assert data["claim_token"].startswith("clm_") and data["expires_in"] == 604800
    as_bearer = await http.get(
        "/api/credits/balance/simple", headers={"Authorization": f"Bearer {data['claim_token']}"}
    )
    assert as_bearer.json()["code"] == 1001


async def test_claim_token_for_an_unknown_session_is_1002(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    response = await http.post("/api/auth/claim-token", json={"session_id": "123"}, headers=who.headers)
    assert response.json()["code"] == 1002


async def test_session_creation_and_empty_state(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    response = await http.post(
        "/api/tasks/me/with-session/nemo_agent",
        json={"task_name": "Fox", "language": "zh-CN"},
        headers=who.headers,
    )
    data = response.json()["data"]
    assert re.fullmatch(r"\d{19}", data["session_id"])
    assert data["task_id"].startswith("task_") and data["user_id"] == who.user_id
    state = await http.get(f"/api/state/nemo_agent/me/{data['session_id']}/latest", headers=who.headers)
    body = state.json()["data"]
    assert (body["session_id"], body["task_id"], body["task_name"]) == (
        data["session_id"],
        data["task_id"],
        "Fox",
    )
    assert body["state"] == {
        "video_infos": [],
        "draft": {},
        "canvas_config": {"width": 1920, "height": 1080, "ratio": "16:9"},
        "video_analyses": {},
        "generated_media": [],
    }


async def test_session_needs_only_a_task_name(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    response = await http.post(
        "/api/tasks/me/with-session/nemo_agent", json={"task_name": "p"}, headers=who.headers
    )
    assert response.json()["code"] == 0


async def test_paths_accept_me_or_the_own_user_id_only(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    session_id = await new_session(http, who)
    own = await http.get(f"/api/state/nemo_agent/{who.user_id}/{session_id}/latest", headers=who.headers)
    assert own.json()["code"] == 0
    other = await http.get(
        f"/api/state/nemo_agent/anon_someoneelse0000/{session_id}/latest", headers=who.headers
    )
    assert other.status_code == 403


async def test_sessions_are_private_to_their_user(http: httpx2.AsyncClient) -> None:
    alice, bob = await login(http, "alice"), await login(http, "bob")
    session_id = await new_session(http, alice)
    response = await http.get(f"/api/state/nemo_agent/me/{session_id}/latest", headers=bob.headers)
    assert (response.status_code, response.json()["code"]) == (200, 1002)


async def test_unknown_session_status_is_configurable(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who = await login(http)
    sandbox.configure(status_1002=404)
    response = await http.get("/api/state/nemo_agent/me/42/latest", headers=who.headers)
    assert (response.status_code, response.json()["code"]) == (404, 1002)


async def test_fresh_balance_and_control_api_credits(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who = await login(http)
    balance = await http.get("/api/credits/balance/simple", headers=who.headers)
    assert balance.json() == {
        "code": 0,
        "message": "success",
        "data": {"available": 100, "frozen": 0, "total": 100},
    }
    assert sandbox.set_credits(who.user_id, 7).available == 7
    assert (await http.get("/api/credits/balance/simple", headers=who.headers)).json()["data"]["total"] == 7


async def test_control_api_users_bypass_the_quota(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    users = [sandbox.new_user(credits=500) for _ in range(3)]
    assert len({u.user_id for u in users}) == 3
    headers = {"Authorization": f"Bearer {users[0].token}"}
    assert (await http.get("/api/credits/balance/simple", headers=headers)).json()["data"]["available"] == 500
    assert "token" not in repr(users[0]) or users[0].token not in repr(users[0])
