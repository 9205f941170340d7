"""/run_sse: scripted turns in both framings, heartbeats, partials, language, edits, credits, disconnects."""

from __future__ import annotations

import io
import re

import av
import httpx2
import pytest
from PIL import Image

from free_generation_image.sandbox import TOOL_EDIT, TOOL_GENERATE_IMAGE, TOOL_GENERATE_VIDEO, Sandbox

from .helpers import (
    as_login,
    balance,
    login,
    new_session,
    parse_sse,
    payloads,
    sse_request,
    state,
    texts,
    tool_calls,
    turn,
)

pytestmark = pytest.mark.anyio


async def test_video_turn_in_adk_framing(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    frames = await turn(http, who, sid, "Make a 3 s 9:16 video of a sunset over the sea")
    events = payloads(frames)
    assert tool_calls(frames) == [TOOL_GENERATE_VIDEO, TOOL_EDIT]
    for event in events:  # ADK Event JSON: camelCase, the same invocation, no done marker
        assert event["author"] == "nemo_agent"
        assert event["invocationId"] == events[0]["invocationId"]
        assert set(event["actions"]) == {"stateDelta", "artifactDelta", "requestedAuthConfigs"}
        assert isinstance(event["timestamp"], float)
    call = events[1]["content"]["parts"][0]["functionCall"]
    assert call["args"] == {"prompt": "a sunset over the sea", "aspect_ratio": "9:16", "duration": 3.0}
    assert events[1]["longRunningToolIds"] == [call["id"]]
    result = events[2]["content"]
    assert result["role"] == "user" and result["parts"][0]["functionResponse"]["id"] == call["id"]
    spoken = texts(frames)
    assert len(spoken) == 3 and "video" in spoken[0] and "Export" in spoken[-1]  # GUI talk, on purpose

    after = await state(http, who, sid)
    [clip] = after["generated_media"]
    assert (clip["type"], clip["prompt"], clip["duration"]) == ("video", "a sunset over the sea", 3.0)
    assert after["canvas_config"] == {"width": 1080, "height": 1920, "ratio": "9:16"}
    assert after["video_infos"][0]["cdn_url"] == clip["url"]
    draft = after["draft"]
    assert (draft["d"], draft["m"]["width"], draft["m"]["height"]) == (3000, 1080, 1920)
    assert [t["tt"] for t in draft["t"]] == [0, 1, 7]
    assert draft["t"][1]["sg"][0]["v"] == 0.35
    assert draft["t"][2]["sg"][0]["txt"] == "A sunset over the sea"

    mp4 = (await http.get(clip["url"])).content
    with av.open(io.BytesIO(mp4)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (108, 192)  # 10 % of the 9:16 canvas
        assert container.duration == pytest.approx(3_000_000, rel=0.05)
    assert (await http.get(draft["t"][1]["sg"][0]["src"])).content[:4] == b"RIFF"


async def test_image_turn_costs_30_and_draws_the_prompt(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    frames = await turn(http, who, sid, "Generate an image (1:1): a red fox in the snow")
    assert tool_calls(frames) == [TOOL_GENERATE_IMAGE, TOOL_EDIT]
    after = await state(http, who, sid)
    [image] = after["generated_media"]
    assert image["type"] == "image" and "duration" not in image and after["video_infos"] == []
    png = (await http.get(image["url"])).content
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(png)).size == (image["width"], image["height"]) == (108, 108)
    tracks = after["draft"]["t"]
    assert [t["tt"] for t in tracks] == [0, 7]  # no BGM for a still
    assert tracks[0]["sg"][0]["kind"] == "image" and tracks[0]["sg"][0]["d"] == 5000
    assert await balance(http, who) == {"available": 70, "frozen": 0, "total": 70}


async def test_same_prompt_gives_the_same_image(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    urls = []
    for _ in range(2):
        sid = await new_session(http, who)
        await turn(http, who, sid, "an image of a lighthouse")
        urls.append((await state(http, who, sid))["generated_media"][0]["url"])
    assert urls[0] == urls[1]  # content-addressed: made once


async def test_typed_framing(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.configure(framing="typed")
    who = await login(http)
    sid = await new_session(http, who)
    events = payloads(await turn(http, who, sid, "a 2 s clip of rain"))
    assert [e["type"] for e in events] == [
        "text",
        "tool_call",
        "tool_result",
        "text",
        "tool_call",
        "tool_result",
        "text",
    ]
    assert events[1]["name"] == TOOL_GENERATE_VIDEO and events[1]["args"]["duration"] == 2.0
    assert events[2]["result"]["status"] == "success"
    assert all(set(e) <= {"type", "content", "name", "args", "result"} for e in events)


@pytest.mark.parametrize(
    ("style", "raw"),
    [("typed", 'data: {"type":"heartbeat"}\n\n'), ("empty", "data:\n\n"), ("comment", ": ping\n\n")],
)
async def test_heartbeat_forms_while_a_tool_runs(
    http: httpx2.AsyncClient, sandbox: Sandbox, style: str, raw: str
) -> None:
    sandbox.configure(heartbeat=style, heartbeat_interval=0.01, generation_seconds=0.15)
    who = await login(http)
    sid = await new_session(http, who)
    response = await http.post("/run_sse", json=sse_request(sid, "an image of a cat"), headers=who.headers)
    blocks = response.text.split("\n\n")
    first_result = next(i for i, b in enumerate(blocks) if "functionResponse" in b)
    first_call = next(i for i, b in enumerate(blocks) if "functionCall" in b)
    between = [b + "\n\n" for b in blocks[first_call + 1 : first_result]]
    assert len(between) >= 3 and set(between) == {raw}


async def test_streaming_true_sends_partials_then_the_whole_text(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    events = payloads(await turn(http, who, sid, "an image of a kite", streaming=True))
    first_text_events = []
    for event in events:
        if "functionCall" in event["content"]["parts"][0]:
            break
        first_text_events.append(event)
    partials = [e for e in first_text_events if e.get("partial")]
    [whole] = [e for e in first_text_events if not e.get("partial")]
    assert len(partials) >= 2
    assert "".join(p["content"]["parts"][0]["text"] for p in partials) == whole["content"]["parts"][0]["text"]


async def test_camel_case_request_fields_are_accepted(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    body = {
        "appName": "nemo_agent",
        "userId": "me",
        "sessionId": sid,
        "newMessage": {"role": "user", "parts": [{"text": "an image of a bee"}]},
    }
    response = await http.post("/run_sse", json=body, headers=who.headers)
    assert TOOL_GENERATE_IMAGE in tool_calls(parse_sse(response.text))


async def test_a_chinese_session_answers_in_chinese(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    sid = await new_session(http, who, language="zh-CN")
    spoken = texts(await turn(http, who, sid, "生成一张图片：雪地里的狐狸"))
    assert spoken and all(re.search(r"[\u4e00-\u9fff]", t) for t in spoken)
    assert "导出" in spoken[-1]
    assert (await state(http, who, sid))["draft"]["t"][1]["sg"][0]["txt"] == "雪地里的狐狸"


async def test_an_edit_turn_changes_the_draft_and_costs_50(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    sb_user_sid = await new_session(http, who)
    await turn(http, who, sb_user_sid, "an image of a boat")  # 30
    frames = await turn(http, who, sb_user_sid, "add music and make the title red")  # 50
    assert tool_calls(frames) == [TOOL_EDIT]
    assert "background music" in texts(frames)[-1]
    draft = (await state(http, who, sb_user_sid))["draft"]
    assert [t["tt"] for t in draft["t"]] == [0, 7, 1]
    assert draft["t"][1]["sg"][0]["sty"].startswith("red")
    assert await balance(http, who) == {"available": 20, "frozen": 0, "total": 20}


async def test_edit_words_without_a_draft_generate(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    assert tool_calls(await turn(http, who, sid, "add music")) == [TOOL_GENERATE_VIDEO, TOOL_EDIT]


async def test_edit_turns_may_close_silently(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.configure(silent_edit_probability=1.0)
    who = await login(http)
    sid = await new_session(http, who)
    await turn(http, who, sid, "an image of a tree")
    before = (await state(http, who, sid))["draft"]
    frames = await turn(http, who, sid, "remove the title colour, make the title blue")
    assert texts(frames) == [] and tool_calls(frames) == [TOOL_EDIT]
    assert (await state(http, who, sid))["draft"] != before


async def test_a_second_generation_extends_the_timeline(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    user = as_login(sandbox.new_user(credits=1000))
    sid = await new_session(http, user)
    await turn(http, user, sid, "a 2 s video of waves")
    await turn(http, user, sid, "create a 3 s video of gulls")
    draft = (await state(http, user, sid))["draft"]
    video, music, titles = draft["t"]
    assert [(s["s"], s["d"]) for s in video["sg"]] == [(0, 2000), (2000, 3000)]
    assert music["sg"][0]["d"] == draft["d"] == 5000
    assert [s["s"] for s in titles["sg"]] == [0, 2000]


async def test_credits_are_frozen_while_running_then_charged(
    http: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    sandbox.configure(generation_seconds=0.5)
    who = await login(http)
    sid = await new_session(http, who)
    async with http.stream(
        "POST", "/run_sse", json=sse_request(sid, "a video of a fox"), headers=who.headers
    ) as r:
        async for line in r.aiter_lines():
            if "functionCall" in line:
                assert await balance(http, who) == {"available": 0, "frozen": 100, "total": 100}
                break
    assert sandbox.wait_idle(5)
    assert await balance(http, who) == {"available": 0, "frozen": 0, "total": 0}


async def test_double_sending_is_charged_twice(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    await turn(http, who, sid, "an image of a bird")
    await turn(http, who, sid, "an image of a bird")
    assert (await balance(http, who))["available"] == 40
    assert len((await state(http, who, sid))["generated_media"]) == 2
    assert [e.message for e in sandbox.requests("/run_sse")] == ["an image of a bird"] * 2


async def test_not_enough_credits_is_2001_before_the_stream(
    http: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    sandbox.set_credits(who.user_id, 99)
    response = await http.post("/run_sse", json=sse_request(sid, "a video of a fox"), headers=who.headers)
    assert response.status_code == 402 and response.headers["content-type"] == "application/json"
    assert response.json()["code"] == 2001
    assert (
        await http.post("/run_sse", json=sse_request(sid, "an image of a fox"), headers=who.headers)
    ).status_code == 200
    sandbox.configure(sse_status_2001=200)
    response = await http.post("/run_sse", json=sse_request(sid, "a video of a fox"), headers=who.headers)
    assert (response.status_code, response.json()["code"]) == (200, 2001)
    assert await balance(http, who) == {"available": 69, "frozen": 0, "total": 69}


async def test_refusals_before_the_stream(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    bad_token = await http.post(
        "/run_sse", json=sse_request(sid, "hi"), headers={"Authorization": "Bearer nope"}
    )
    assert (bad_token.status_code, bad_token.json()["code"]) == (401, 1001)
    lost = await http.post("/run_sse", json=sse_request("123", "hi"), headers=who.headers)
    assert (lost.status_code, lost.json()["code"]) == (404, 1002)
    other_user = await http.post(
        "/run_sse", json=sse_request(sid, "hi", user_id="anon_x"), headers=who.headers
    )
    assert other_user.json()["code"] == 1002
    no_text = await http.post("/run_sse", json=sse_request(sid, ""), headers=who.headers)
    assert no_text.status_code == 422 and "detail" in no_text.json()
    bad_app = await http.post(
        "/run_sse", json={**sse_request(sid, "hi"), "app_name": "bad app"}, headers=who.headers
    )
    assert bad_app.status_code == 422
    not_json = await http.post("/run_sse", content=b"[1]", headers=who.headers)
    assert not_json.status_code == 422
    assert (await balance(http, who))["available"] == 100


async def test_a_dropped_client_does_not_stop_the_turn(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.configure(generation_seconds=0.3)
    who = await login(http)
    sid = await new_session(http, who)
    async with http.stream(
        "POST", "/run_sse", json=sse_request(sid, "a video of a fox"), headers=who.headers
    ) as r:
        async for line in r.aiter_lines():
            if "functionCall" in line:
                break  # leave: the connection closes mid-generation
    assert (await state(http, who, sid))["generated_media"] == []
    assert sandbox.wait_idle(5)
    after = await state(http, who, sid)
    assert len(after["generated_media"]) == 1 and [t["tt"] for t in after["draft"]["t"]] == [0, 1, 7]
    [done] = sandbox.journal("turn.completed", kind="event")
    assert done.data["credits"] == 100


async def test_the_journal_records_the_prompt_once_per_send(
    http: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    await turn(http, who, sid, "an image of a cat")
    [entry] = sandbox.requests("/run_sse")
    assert entry.message == "an image of a cat" and entry.status == 200
    assert entry.headers["authorization"] == "Bearer nmv_usr_<redacted>"
    assert who.token not in repr(sandbox.journal())
    assert entry.data["kind"] == "image" and entry.data["cost"] == 30
