"""The sandbox emits the shapes of the contract fixtures (tests/contract/fixtures.py).

For each fixture the sandbox can produce, a scenario makes it produce that answer over real HTTP
(under the fault or config switch where the shape is a failure), then the answer must have the
fixture's status, content type and envelope, and every key of the fixture's body with a value of the
same JSON type (lists: every element shape of the fixture occurs). Values may differ; extra keys are
allowed (the client must tolerate them). Fixtures the sandbox never produces are listed with the
reason, and a test keeps the two lists complete.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from free_generation_image.sandbox import Sandbox
from free_generation_image.sandbox.video import prompt_clip

from ..contract.fixtures import ALL, BY_NAME, Fixture
from .helpers import (
    Login,
    as_login,
    generated,
    login,
    new_session,
    parse_sse,
    sse_request,
    submit_render,
    turn,
    wait_render,
)

pytestmark = pytest.mark.anyio

FREE_FORM = {"args", "response", "result"}  # tool payloads: their keys are the tool's business
OPTIONAL = {"usageMetadata"}  # ADK adds it when the model reports usage; the sandbox has no model


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes
    headers: httpx2.Headers


def answer(response: httpx2.Response) -> Answer:
    return Answer(
        response.status_code, response.headers.get("content-type", ""), response.content, response.headers
    )


Scenario = Callable[[httpx2.AsyncClient, Sandbox], Awaitable[Answer]]
SCENARIOS: dict[str, Scenario] = {}


def produces(*names: str) -> Callable[[Scenario], Scenario]:
    def register(scenario: Scenario) -> Scenario:
        for name in names:
            SCENARIOS[name] = scenario
        return scenario

    return register


# --- JSON endpoints -------------------------------------------------------------------------------


@produces("token_ok")
async def _token(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return answer(await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "contract"}))


@produces("session_ok", "session_ok_without_user_id")
async def _session(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    who = await login(http)
    return answer(
        await http.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "p"}, headers=who.headers)
    )


@produces("claim_ok")
async def _claim(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    who = await login(http)
    sid = await new_session(http, who)
    return answer(await http.post("/api/auth/claim-token", json={"session_id": sid}, headers=who.headers))


@produces("credits_ok_with_message", "credits_ok_without_message", "credits_fresh_anonymous")
async def _credits(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    who = await login(http)
    return answer(await http.get("/api/credits/balance/simple", headers=who.headers))


@produces("state_ok")
async def _state_after_a_video(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    who = as_login(sandbox.new_user(credits=100))
    sid = await new_session(http, who)
    await turn(http, who, sid, "a 2 s video of a sunset over the sea")
    return answer(await http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=who.headers))


@produces("state_before_generation")
async def _state_before(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    who = await login(http)
    sid = await new_session(http, who)
    return answer(await http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=who.headers))


@produces("upload_ok")
async def _upload(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    who = await login(http)
    sid = await new_session(http, who)
    clip = prompt_clip("clip", 64, 36, 1.0, 10)
    files = [("files", ("clip.mp4", clip, "video/mp4"))]
    return answer(await http.post(f"/api/upload-video/nemo_agent/me/{sid}", files=files, headers=who.headers))


# --- errors ---------------------------------------------------------------------------------------


async def _credits_with(http: httpx2.AsyncClient, token: str) -> Answer:
    return answer(await http.get("/api/credits/balance/simple", headers={"Authorization": f"Bearer {token}"}))


@produces("auth_1001_under_401")
async def _bad_token(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return await _credits_with(http, "nmv_usr_unknown")


@produces("auth_1001_under_200")
async def _bad_token_200(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    sandbox.configure(status_1001=200)
    return answer(await http.get("/api/state/nemo_agent/me/1/latest", headers={"Authorization": "Bearer x"}))


@produces("session_1002_under_200")
async def _lost_session(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    who = await login(http)
    return answer(await http.get("/api/state/nemo_agent/me/1/latest", headers=who.headers))


@produces("session_1002_under_404")
async def _lost_session_404(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    sandbox.configure(status_1002=404)
    return await _lost_session(http, sandbox)


async def _upload_named(http: httpx2.AsyncClient, name: str, size: int) -> Answer:
    who = await login(http)
    sid = await new_session(http, who)
    files = [("files", (name, b"\0" * size, "application/octet-stream"))]
    return answer(await http.post(f"/api/upload-video/nemo_agent/me/{sid}", files=files, headers=who.headers))


@produces("upload_4001")
async def _unsupported(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return await _upload_named(http, "notes.txt", 10)


@produces("upload_4002")
async def _too_large(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    sandbox.configure(max_upload_bytes=10)
    return await _upload_named(http, "clip.mp4", 11)


@produces("upload_4002_under_413")
async def _too_large_413(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    sandbox.configure(status_4002=413)
    return await _too_large(http, sandbox)


@produces("token_400_no_client_id")
async def _no_client_id(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return answer(await http.post("/api/auth/anonymous-token"))


@produces("token_429_retry_after")
async def _quota(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    await login(http, "contract-quota")
    return answer(await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "contract-quota"}))


@produces("html_502")
async def _html_502(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    sandbox.inject("server_error", path="/api/state", status=502)
    who = await login(http)
    return answer(await http.get("/api/state/nemo_agent/me/1/latest", headers=who.headers))


@produces("malformed_json_200")
async def _malformed(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    who = await login(http)
    sandbox.inject("malformed_json", path="/api/credits")
    return answer(await http.get("/api/credits/balance/simple", headers=who.headers))


# --- /run_sse before the stream ---------------------------------------------------------------------


async def _send(
    http: httpx2.AsyncClient, who: Login, sid: str, text: str = "an image of a cat", **extra: Any
) -> Answer:
    return answer(await http.post("/run_sse", json=sse_request(sid, text, **extra), headers=who.headers))


@produces("sse_1001_before_stream")
async def _sse_1001(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return await _send(http, Login("nmv_usr_nope", "anon_x"), "1")


@produces("sse_1002_before_stream")
async def _sse_1002(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return await _send(http, await login(http), "1")


@produces("sse_2001_before_stream")
async def _sse_2001(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    who = await login(http)
    sid = await new_session(http, who)
    sandbox.set_credits(who.user_id, 1)
    return await _send(http, who, sid, "a video of a fox")


@produces("sse_2001_json_under_200")
async def _sse_2001_200(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    sandbox.configure(sse_status_2001=200)
    return await _sse_2001(http, sandbox)


@produces("sse_422")
async def _sse_422(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    who = await login(http)
    body = {"app_name": "nemo_agent", "new_message": {"parts": [{"text": "hi"}]}}
    return answer(await http.post("/run_sse", json=body, headers=who.headers))


@produces("sse_html_502")
async def _sse_502(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    who = await login(http)
    sandbox.inject("server_error", path="/run_sse", status=502)
    return await _send(http, who, "1")


# --- streams --------------------------------------------------------------------------------------


async def _stream(
    http: httpx2.AsyncClient,
    sandbox: Sandbox,
    text: str,
    *,
    fault: str | None = None,
    fault_params: dict[str, Any] | None = None,
    edit_first: bool = False,
    **config: Any,
) -> Answer:
    sandbox.configure(**config)
    who = as_login(sandbox.new_user(credits=1000))
    sid = await new_session(http, who)
    if edit_first:
        await turn(http, who, sid, "an image of a boat")
    if fault:
        sandbox.inject(fault, **(fault_params or {}))
    return await _send(http, who, sid, text)


@produces("adk_full_turn")
async def _adk_turn(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return await _stream(http, sandbox, "a 2 s video of a sunset")


@produces("adk_partial_then_aggregate")
async def _adk_partials(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    who = await login(http)
    sid = await new_session(http, who)
    return await _send(http, who, sid, "an image of a kite", streaming=True)


@produces("adk_error_code")
async def _adk_error(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return await _stream(http, sandbox, "an image of a fox", fault="adk_error")


@produces("adk_final_error_frame")
async def _error_frame(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return await _stream(http, sandbox, "an image of a fox", fault="error_frame", fault_params={"after": 1})


@produces("adk_silent_edit")
async def _silent_edit(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return await _stream(http, sandbox, "make the title red", edit_first=True, silent_edit_probability=1.0)


@produces("adk_temporary_issue_tail")
async def _temporary(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return await _stream(http, sandbox, "an image of a fox", fault="temporary_issue")


@produces("typed_dialect")
async def _typed(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return await _stream(http, sandbox, "a 2 s video of a sunset", framing="typed", generation_seconds=0.1)


@produces("typed_dialect_silent")
async def _typed_silent(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return await _stream(
        http, sandbox, "add music", edit_first=True, framing="typed", silent_edit_probability=1.0
    )


@produces("heartbeat_forms")
async def _heartbeat_forms(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    raw = b""
    for style in ("typed", "empty", "comment"):
        raw += (
            await _stream(http, sandbox, "an image of a cat", heartbeat=style, generation_seconds=0.1)
        ).body
    return Answer(200, "text/event-stream", raw, httpx2.Headers())


@produces("heartbeats_during_tool")
async def _heartbeats_during(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    """Comment pings, then (the style is read live) empty data lines, all while the tool runs."""
    sandbox.configure(heartbeat="comment", generation_seconds=0.2)
    who = as_login(sandbox.new_user(credits=1000))
    sid = await new_session(http, who)
    sandbox.inject("silent_close")
    raw = b""
    async with http.stream(
        "POST", "/run_sse", json=sse_request(sid, "a video of rain"), headers=who.headers
    ) as r:
        async for chunk in r.aiter_bytes():
            raw += chunk
            if b": ping" in raw:
                sandbox.configure(heartbeat="empty")
    call, result = raw.index(b"functionCall"), raw.index(b"functionResponse")
    assert b"\n\n: ping\n\n" in raw[call:result] and b"\n\ndata:\n\n" in raw[call:result]
    return Answer(r.status_code, r.headers["content-type"], raw, r.headers)


# --- renders --------------------------------------------------------------------------------------


async def _rendered(
    http: httpx2.AsyncClient, sandbox: Sandbox, *, fault: str | None = None, **config: Any
) -> Answer:
    who, sid = await generated(http)
    if fault:
        sandbox.inject(fault)
    await submit_render(http, who, sid, "render_contract")
    await wait_render(http, who, "render_contract")
    sandbox.configure(**config)
    return answer(await http.get("/api/render/proxy/lambda/render_contract", headers=who.headers))


@produces("submit_ok")
async def _submit(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    who, sid = await generated(http)
    return answer(await submit_render(http, who, sid, "render_contract"))


@produces("poll_success_data")
async def _poll_data(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return await _rendered(http, sandbox)


@produces("poll_processing_float")
async def _poll_processing(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    sandbox.configure(render_seconds=5)
    who, sid = await generated(http)
    await submit_render(http, who, sid, "render_contract")
    return answer(await http.get("/api/render/proxy/lambda/render_contract", headers=who.headers))


@produces("poll_mirrored")
async def _poll_mirrored(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return await _rendered(http, sandbox, poll_shape="mirror")


@produces("poll_legacy_raw")
async def _poll_raw(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return await _rendered(http, sandbox, poll_shape="raw")


@produces("poll_failed_in_data")
async def _poll_failed(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return await _rendered(http, sandbox, fault="render_failed")


@produces("poll_failed_top_level")
async def _poll_failed_raw(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    return await _rendered(http, sandbox, fault="render_failed", poll_shape="raw")


@produces("cancel_cancelled")
async def _cancel(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    sandbox.configure(render_seconds=5)
    who, sid = await generated(http)
    await submit_render(http, who, sid, "render_contract")
    return answer(await http.post("/api/render/proxy/lambda/render_contract/cancel", headers=who.headers))


@produces("submit_plan_402")
async def _plan(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    who, sid = await generated(http)
    sandbox.inject("plan_402", envelope="success")
    return answer(await submit_render(http, who, sid, "render_contract"))


@produces("submit_duplicate_409")
async def _duplicate(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    who, sid = await generated(http)
    await submit_render(http, who, sid, "render_contract")
    return answer(await submit_render(http, who, sid, "render_contract"))


@produces("submit_invalid_draft_400")
async def _invalid_draft(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    who = await login(http)
    body = {"id": "render_contract", "draft": {"t": []}}
    return answer(await http.post("/api/render/proxy/lambda", json=body, headers=who.headers))


@produces("poll_html_503")
async def _poll_503(http: httpx2.AsyncClient, sandbox: Sandbox) -> Answer:
    who = await login(http)
    sandbox.inject("server_error", path="/api/render/proxy/lambda/", status=503)
    return answer(await http.get("/api/render/proxy/lambda/render_contract", headers=who.headers))


NOT_PRODUCED: dict[str, str] = {
    "auth_plain_401": "bad tokens always carry code 1001",
    "session_fastapi_404": "unknown sessions always carry code 1002",
    "credits_2001_under_200": "only /run_sse spends credits (see sse_2001_*), not session creation",
    "credits_2001_under_402": "only /run_sse spends credits (see sse_2001_*), not session creation",
    "token_429_no_retry_after": "429s always carry Retry-After",
    "validation_422": "no field of session creation is required",
    "empty_503": "server_error answers with an HTML page",
    "json_500": "server_error answers with an HTML page",
    "html_200": "no captive-portal page",
    "sse_session_fastapi_404": "unknown sessions always carry code 1002",
    "adk_thought_hidden": "the scripted agent has no model reasoning to show",
    "adk_artifact_split": "the scripted agent saves no artifacts",
    "adk_final_error_frame_broken_quotes": "frames are built with json.dumps (newer ADK)",
    "empty_stream": "every turn emits at least one event",
    "poll_progress_string": "progress is always an integer",
    "poll_top_level": "the mirror knob adds the top-level keys beside data; see poll_mirrored",
    "poll_data_output_url": "data carries outputUrl (older CLI typings only)",
    "poll_completed_without_url": "a completed render always has its URL",
    "cancel_canceled_spelling": "the sandbox spells it cancelled",
    "submit_failure_under_200": "render refusals use 4xx statuses",
    "poll_408": "no request timeouts on loopback",
    "poll_429": "rate_limited answers with the code envelope (see token_429_retry_after)",
}


# --- comparison -----------------------------------------------------------------------------------


def mismatches(actual: Any, expected: Any, path: str = "$") -> list[str]:
    """Where ``actual`` lacks a key of ``expected`` or holds another JSON type (null matches anything)."""
    if expected is None:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: not an object"]
        found: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                found += [] if key in OPTIONAL else [f"{path}.{key}: missing"]
            elif key in FREE_FORM:
                found += [] if isinstance(actual[key], dict) else [f"{path}.{key}: not an object"]
            else:
                found += mismatches(actual[key], value, f"{path}.{key}")
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: not a list"]
        return [
            f"{path}[{i}]: no element of this shape"
            for i, item in enumerate(expected)
            if not any(not mismatches(a, item) for a in actual)
        ]
    kind = _kind(expected)
    return [] if _kind(actual) == kind else [f"{path}: {_kind(actual)} instead of {kind}"]


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def envelope(body: Any) -> str:
    if not isinstance(body, dict):
        return "other"
    return next((key for key in ("code", "success", "detail", "error") if key in body), "raw")


def media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip()


def events(raw: bytes) -> list[Any]:
    """Non-heartbeat frames as JSON."""
    return [f.json for f in parse_sse(raw.decode()) if not f.is_heartbeat]


def heartbeat_forms(raw: bytes) -> set[bytes]:
    return {
        block + b"\n\n"
        for block in raw.split(b"\n\n")
        if block in (b'data: {"type":"heartbeat"}', b"data:") or block.startswith(b":")
    }


def matches(actual: Any, expected: Any) -> bool:
    """Same shape; the typed dialect's frames have exactly the fixture's keys."""
    return not mismatches(actual, expected) and ("type" not in expected or set(actual) == set(expected))


def assert_stream_matches(got: Answer, fixture: Fixture) -> None:
    """The fixture's events occur in order among the sandbox's, and both streams end alike."""
    assert heartbeat_forms(fixture.body) <= heartbeat_forms(got.body)
    want, have = events(fixture.body), events(got.body)
    remaining = iter(have)
    for index, expected in enumerate(want):
        assert any(matches(actual, expected) for actual in remaining), (index, expected, have)
    if want:
        assert matches(have[-1], want[-1]), have[-1]
    if any(e.get("partial") for e in want):  # the aggregate repeats exactly what the partials said
        partials = list(itertools.takewhile(lambda e: e.get("partial"), have))
        aggregate = have[len(partials)]["content"]["parts"][0]["text"]
        assert partials and "".join(p["content"]["parts"][0]["text"] for p in partials) == aggregate


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_sandbox_emits_the_fixture_shape(name: str, http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    fixture = BY_NAME[name]
    got = await SCENARIOS[name](http, sandbox)
    assert got.status == fixture.status, got.body[:300]
    assert media_type(got.content_type) == media_type(fixture.content_type) or not fixture.content_type
    if media_type(fixture.content_type) == "text/event-stream":
        assert_stream_matches(got, fixture)
        return
    if media_type(fixture.content_type) == "text/html":
        assert f"{fixture.status}".encode() in got.body
        return
    try:
        expected = json.loads(fixture.body)
    except ValueError:  # the fixture is malformed on purpose: so must the sandbox's answer be
        with pytest.raises(ValueError):
            json.loads(got.body)
        return
    actual = json.loads(got.body)
    assert envelope(actual) == envelope(expected)
    assert mismatches(actual, expected) == []
    for header, _ in fixture.headers:
        if header.lower() == "retry-after":
            assert float(got.headers[header]) > 0


def test_every_fixture_is_produced_or_explained() -> None:
    names = {f.name for f in ALL}
    assert set(SCENARIOS) | set(NOT_PRODUCED) == names
    assert not set(SCENARIOS) & set(NOT_PRODUCED)
