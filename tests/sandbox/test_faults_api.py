"""Every fault, injected through the Python API and the HTTP control API, observed over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from free_generation_image.sandbox import FAULTS, TOOL_EDIT, TOOL_GENERATE_VIDEO, Sandbox

from .helpers import (
    balance,
    generated,
    login,
    new_session,
    payloads,
    sse_request,
    state,
    submit_render,
    texts,
    tool_calls,
    turn,
    wait_render,
)

pytestmark = pytest.mark.anyio


async def test_rate_limited_with_retry_after_then_normal(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.inject("rate_limited", path="/api/auth/anonymous-token", retry_after=1)
    first = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "c"})
    assert (first.status_code, first.headers["retry-after"], first.json()["code"]) == (429, "1", 429)
    assert (await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "c"})).status_code == 200
    assert [e.faults for e in sandbox.requests("/api/auth")] == [("rate_limited",), ()]


async def test_a_fault_waits_for_a_matching_path_and_counts_times(
    http: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    who = await login(http)
    sandbox.inject("server_error", times=2, path="/api/credits")
    assert (
        await http.post("/api/tasks/me/with-session/nemo_agent", json={}, headers=who.headers)
    ).status_code == 200
    statuses = [
        (await http.get("/api/credits/balance/simple", headers=who.headers)).status_code for _ in range(3)
    ]
    assert statuses == [503, 503, 200]
    assert sandbox.faults() == []


async def test_always_until_cleared(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who = await login(http)
    sandbox.inject("server_error", times=None, path="/api/credits", status=502)
    for _ in range(3):
        response = await http.get("/api/credits/balance/simple", headers=who.headers)
        assert response.status_code == 502 and "502 Bad Gateway" in response.text
        assert response.headers["content-type"].startswith("text/html")
    sandbox.clear_faults()
    assert (await http.get("/api/credits/balance/simple", headers=who.headers)).status_code == 200


async def test_malformed_json(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who = await login(http)
    sandbox.inject("malformed_json", path="/api/credits")
    response = await http.get("/api/credits/balance/simple", headers=who.headers)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        response.json()


async def test_token_expired_once_then_a_new_token_for_the_same_client(
    http: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    who = await login(http, "loyal-client")
    sandbox.inject("token_expired")
    expired = await http.get("/api/credits/balance/simple", headers=who.headers)
    assert (expired.status_code, expired.json()["code"], expired.json()["message"]) == (
        401,
        1001,
        "token has expired",
    )
    assert (await http.get("/api/credits/balance/simple", headers=who.headers)).json()[
        "code"
    ] == 1001  # really expired
    renewed = await login(http, "loyal-client")  # the quota lets an expired token be replaced
    assert (await http.get("/api/credits/balance/simple", headers=renewed.headers)).json()["code"] == 0


async def test_session_lost(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    sandbox.inject("session_lost", path="/run_sse")
    lost = await http.post("/run_sse", json=sse_request(sid, "an image of a cat"), headers=who.headers)
    assert (lost.status_code, lost.json()["code"]) == (404, 1002)
    gone = await http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=who.headers)
    assert gone.json()["code"] == 1002
    assert (await balance(http, who))["available"] == 100


async def test_out_of_credits(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    sandbox.inject("out_of_credits")
    refused = await http.post("/run_sse", json=sse_request(sid, "an image of a cat"), headers=who.headers)
    assert (refused.status_code, refused.json()["code"]) == (402, 2001)
    assert await balance(http, who) == {"available": 0, "frozen": 0, "total": 0}


async def test_silent_close(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    sandbox.inject("silent_close")
    frames = await turn(http, who, sid, "a 2 s video of a storm")
    assert texts(frames) == [] and tool_calls(frames) == [TOOL_GENERATE_VIDEO, TOOL_EDIT]
    assert len((await state(http, who, sid))["generated_media"]) == 1


async def test_slow_stream_sends_only_heartbeats_meanwhile(
    http: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    sandbox.configure(heartbeat_interval=0.02)
    who = await login(http)
    sid = await new_session(http, who)
    sandbox.inject("slow_stream", seconds=0.3)
    frames = await turn(http, who, sid, "an image of a snail")
    call = next(i for i, f in enumerate(frames) if not f.is_heartbeat and "functionCall" in (f.data or ""))
    result = next(
        i for i, f in enumerate(frames) if not f.is_heartbeat and "functionResponse" in (f.data or "")
    )
    assert result - call - 1 >= 5 and all(f.is_heartbeat for f in frames[call + 1 : result])


async def test_dropped_stream_the_turn_still_completes(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    sandbox.inject("drop_stream", after=2)
    received: list[str] = []

    async def listen() -> None:
        body = sse_request(sid, "a video of a fox")
        async with http.stream("POST", "/run_sse", json=body, headers=who.headers) as r:
            async for line in r.aiter_lines():
                if line.startswith("data: {") and "heartbeat" not in line:
                    received.append(line)

    with pytest.raises(httpx2.RemoteProtocolError):
        await listen()
    assert len(received) == 2
    assert sandbox.wait_idle(5)
    assert len((await state(http, who, sid))["generated_media"]) == 1
    assert [e.path for e in sandbox.journal(kind="event")] == ["stream.dropped", "turn.completed"]
    assert (await balance(http, who))["available"] == 0


async def test_error_frame_ends_the_turn_and_refunds(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    sandbox.inject("error_frame", after=2, message='Tool "x" timed out')
    events = payloads(await turn(http, who, sid, "a video of a fox"))
    assert len(events) == 3 and events[-1] == {"error": 'Tool "x" timed out'}
    assert (await state(http, who, sid))["generated_media"] == []
    assert await balance(http, who) == {"available": 100, "frozen": 0, "total": 100}
    assert sandbox.journal("turn.failed", kind="event")


async def test_error_frame_after_everything(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    sandbox.inject("error_frame", after=50)
    events = payloads(await turn(http, who, sid, "an image of a fox"))
    assert events[-1] == {"error": "Internal agent error"} and len(events) == 8
    assert (await balance(http, who))["available"] == 70  # the work happened: charged


async def test_adk_error_event(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    sandbox.inject("adk_error", code="SAFETY", message="Blocked by the safety filter.")
    events = payloads(await turn(http, who, sid, "an image of a fox"))
    assert len(events) == 2 and "content" not in events[1]
    assert (events[1]["errorCode"], events[1]["errorMessage"]) == ("SAFETY", "Blocked by the safety filter.")
    assert events[1]["author"] == "nemo_agent"


async def test_trailing_temporary_issue(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    sandbox.inject("temporary_issue")
    spoken = texts(await turn(http, who, sid, "an image of a fox"))
    assert len(spoken) == 4 and spoken[-1].startswith("I encountered a temporary issue")


async def test_render_failed_once_then_a_retry_succeeds(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who, sid = await generated(http)
    sandbox.inject("render_failed", error="worker crashed")
    await submit_render(http, who, sid, "render_try1")
    failed = await wait_render(http, who, "render_try1")
    assert (failed["status"], failed["error"]) == ("failed", "worker crashed") and "outputUrl" not in failed
    await submit_render(http, who, sid, "render_try2")
    assert (await wait_render(http, who, "render_try2"))["status"] == "completed"
    assert len(sandbox.requests("/api/render/proxy/lambda", method="POST")) == 2


async def test_plan_402(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who, sid = await generated(http)
    sandbox.inject("plan_402")
    refused = await submit_render(http, who, sid, "render_plan")
    assert refused.status_code == 402 and refused.json()["code"] == 402
    assert (await submit_render(http, who, sid, "render_plan")).status_code == 200


async def test_dropped_download_then_resume_with_a_range(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who, sid = await generated(http)
    url = (await state(http, who, sid))["generated_media"][0]["url"]
    whole = (await http.get(url)).content
    sandbox.inject("drop_download", path="/files/", after_bytes=100)
    chunks: list[bytes] = []
    lengths: list[str] = []

    async def download() -> None:
        async with http.stream("GET", url) as response:
            lengths.append(response.headers["content-length"])
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)

    with pytest.raises(httpx2.RemoteProtocolError):
        await download()
    got = b"".join(chunks)
    assert lengths == [str(len(whole))] and got == whole[:100]
    rest = await http.get(url, headers={"Range": f"bytes={len(got)}-"})
    assert got + rest.content == whole


async def test_unknown_fault_and_bad_parameters_are_refused(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        sandbox.inject("gremlins")
    with pytest.raises(ValueError, match="takes no parameter"):
        sandbox.inject("silent_close", loud=True)
    with pytest.raises(ValueError, match="must be int"):
        sandbox.inject("drop_stream", after="soon")
    with pytest.raises(ValueError, match="times"):
        sandbox.inject("silent_close", times=0)


async def test_http_control_api_matches_the_python_one(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    armed = await http.post(
        "/_sandbox/faults", json={"name": "server_error", "path": "/api/credits", "params": {"status": 500}}
    )
    assert armed.status_code == 201 and armed.json()["params"] == {"status": 500}
    overview = (await http.get("/_sandbox")).json()
    assert set(overview["fault_kinds"]) == set(FAULTS) and overview["faults"][0]["name"] == "server_error"
    assert (await http.delete("/_sandbox/faults")).json() == {"armed": []}
    assert (await http.post("/_sandbox/faults", json={"name": "nope"})).status_code == 400
    assert (await http.patch("/_sandbox/config", json={"render_seconds": -1})).status_code == 400
    assert (await http.patch("/_sandbox/config", json={"port": 1})).status_code == 400
    assert sandbox.journal() == []  # control requests are not journaled


def test_every_fault_is_covered_here() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    assert [name for name in FAULTS if f'"{name}"' not in source] == []
