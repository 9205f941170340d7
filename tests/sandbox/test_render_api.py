"""Renders (§2.8-2.12, §6): lifecycle on the sandbox clock, real MP4/PNG output, poll shapes, errors."""

from __future__ import annotations

import io
import sys
import time

import anyio
import av
import httpx2
import pytest
from PIL import Image

from free_generation_image.sandbox import Sandbox

from .helpers import (
    ATTRIBUTION,
    as_login,
    generated,
    login,
    new_session,
    state,
    submit_render,
    turn,
    wait_render,
)

pytestmark = pytest.mark.anyio


async def test_lifecycle_progress_and_completed_at(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who, sid = await generated(http)
    sandbox.configure(render_seconds=0.4)
    submitted_at = time.time()
    response = await submit_render(http, who, sid, "render_life")
    assert response.json() == {
        "success": True,
        "data": {"id": "render_life", "status": "pending", "progress": 5},
    }
    seen: list[tuple[str, int]] = []
    while not seen or seen[-1][0] != "completed":
        data = (await http.get("/api/render/proxy/lambda/render_life", headers=who.headers)).json()["data"]
        seen.append((data["status"], data["progress"]))
        await anyio.sleep(0.02)
    statuses = [s for s, _ in seen]
    order = ["pending", "processing", "completed"]
    assert "processing" in statuses and statuses == sorted(statuses, key=order.index)
    progress = [p for _, p in seen]
    assert progress == sorted(progress) and progress[-1] == 100 and max(progress[:-1]) <= 99
    assert data["outputUrl"].endswith("/files/renders/render_life.mp4")
    assert data["completedAt"] - data["createdAt"] >= 400
    assert data["createdAt"] / 1000 == pytest.approx(submitted_at, abs=0.5)
    [event] = sandbox.journal("render.completed", kind="event")
    assert event.data["completedAt"] == data["completedAt"] and event.data["render_id"] == "render_life"


async def test_the_mp4_plays_with_the_declared_size_and_duration(
    http: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    who = as_login(sandbox.new_user(credits=500))
    sid = await new_session(http, who)
    await turn(http, who, sid, "a 4 s 4:3 video of a harbour")
    draft = (await state(http, who, sid))["draft"]
    assert (draft["m"]["width"], draft["m"]["height"], draft["d"]) == (1440, 1080, 4000)
    await submit_render(http, who, sid, "render_mp4")
    data = await wait_render(http, who, "render_mp4")
    mp4 = (await http.get(data["outputUrl"])).content
    with av.open(io.BytesIO(mp4)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.width, stream.height) == (144, 108)  # the draft's canvas at media_scale 0.1
        assert container.duration / 1_000_000 == pytest.approx(4.0, abs=0.05)
        frames = list(container.decode(video=0))
    assert len(frames) == 4 * 30
    pictures = [f.to_image().tobytes() for f in frames]
    assert pictures[15] != pictures[-1]  # the title is on screen for the first 3 s
    assert pictures[95] != pictures[-1]  # after it, the clip itself moves


async def test_png_output_is_a_still_of_the_composition(http: httpx2.AsyncClient) -> None:
    who, sid = await generated(http, "Generate a 9:16 image of a tall tower")
    await submit_render(http, who, sid, "render_png", fmt="png")
    data = await wait_render(http, who, "render_png")
    assert data["outputUrl"].endswith(".png")
    response = await http.get(data["outputUrl"])
    assert response.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).size == (108, 192)


async def test_fallback_download_with_ranges(http: httpx2.AsyncClient) -> None:
    who, sid = await generated(http)
    await submit_render(http, who, sid, "render_dl")
    not_yet = await http.get("/api/render/proxy/render_dl/download", headers=who.headers)
    assert not_yet.status_code == 404 and not_yet.json()["success"] is False
    data = await wait_render(http, who, "render_dl")
    whole = await http.get("/api/render/proxy/render_dl/download", headers=who.headers)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.content == (await http.get(data["outputUrl"])).content
    part = await http.get(data["outputUrl"], headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == whole.content[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(whole.content)}"
    tail = await http.get(data["outputUrl"], headers={"Range": "bytes=-5"})
    assert tail.content == whole.content[-5:]
    beyond = await http.get(data["outputUrl"], headers={"Range": f"bytes={len(whole.content)}-"})
    assert beyond.status_code == 416
    anonymous = await http.get("/api/render/proxy/render_dl/download")
    assert anonymous.json()["code"] == 1001


async def test_cancel(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who, sid = await generated(http)
    sandbox.configure(render_seconds=5)
    await submit_render(http, who, sid, "render_cancel")
    response = await http.post("/api/render/proxy/lambda/render_cancel/cancel", headers=who.headers)
    assert response.json() == {"success": True, "data": {"id": "render_cancel", "status": "cancelled"}}
    polled = (await http.get("/api/render/proxy/lambda/render_cancel", headers=who.headers)).json()["data"]
    assert polled["status"] == "cancelled" and "outputUrl" not in polled
    again = await http.post("/api/render/proxy/lambda/render_cancel/cancel", headers=who.headers)
    assert again.status_code == 409
    assert sandbox.wait_idle(2)


async def test_render_refusals(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who, sid = await generated(http)
    draft = (await state(http, who, sid))["draft"]
    no_attribution = {"Authorization": who.headers["Authorization"]}
    body = {"id": "render_a", "sessionId": sid, "draft": draft}
    refused = await http.post("/api/render/proxy/lambda", json=body, headers=no_attribution)
    assert refused.status_code == 402 and refused.json()["code"] == 402
    sandbox.configure(require_attribution=False)
    assert (await http.post("/api/render/proxy/lambda", json=body, headers=no_attribution)).status_code == 200
    duplicate = await http.post("/api/render/proxy/lambda", json=body, headers=who.headers)
    assert duplicate.status_code == 409 and duplicate.json() == {
        "success": False,
        "error": "duplicate render id",
    }
    empty = await http.post(
        "/api/render/proxy/lambda", json={"id": "render_b", "draft": {"t": []}}, headers=who.headers
    )
    assert empty.status_code == 400 and empty.json()["error"].startswith("invalid draft")
    bad_id = await http.post(
        "/api/render/proxy/lambda", json={"id": "../x", "draft": draft}, headers=who.headers
    )
    assert bad_id.status_code == 400
    bad_format = {"id": "render_c", "draft": draft, "output": {"format": "gif"}}
    assert (
        await http.post("/api/render/proxy/lambda", json=bad_format, headers=who.headers)
    ).status_code == 400
    unknown = await http.get("/api/render/proxy/lambda/render_zzz", headers=who.headers)
    assert unknown.status_code == 404 and unknown.json()["success"] is False


async def test_renders_are_private(http: httpx2.AsyncClient) -> None:
    who, sid = await generated(http)
    await submit_render(http, who, sid, "render_private")
    other = await login(http, "someone-else")
    assert (
        await http.get("/api/render/proxy/lambda/render_private", headers=other.headers)
    ).status_code == 404


async def test_unknown_output_keys_are_ignored_and_session_is_optional(http: httpx2.AsyncClient) -> None:
    who, sid = await generated(http)
    draft = (await state(http, who, sid))["draft"]
    body = {
        "id": "render_cli",
        "draft": draft,
        "output": {"format": "mp4", "codec": "h264", "crf": 23},
        "projectId": "p",
    }
    assert (await http.post("/api/render/proxy/lambda", json=body, headers=who.headers)).json()[
        "success"
    ] is True
    assert (await wait_render(http, who, "render_cli"))["status"] == "completed"


async def test_drafts_may_cite_uploads_by_mnt_userdata_path(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (250, 0, 0)).save(out, format="PNG")
    await http.post(
        f"/api/upload-video/nemo_agent/me/{sid}",
        files=[("files", ("red.png", out.getvalue(), "image/png"))],
        headers=who.headers,
    )
    draft = {
        "t": [{"tt": 0, "sg": [{"s": 0, "d": 1000, "src": "/mnt/userdata/red.png"}]}],
        "d": 1000,
        "m": {"width": 400, "height": 400},
    }
    body = {"id": "render_mnt", "draft": draft, "output": {"format": "png"}}
    await http.post("/api/render/proxy/lambda", json=body, headers=who.headers)
    data = await wait_render(http, who, "render_mnt")
    still = Image.open(io.BytesIO((await http.get(data["outputUrl"])).content)).convert("RGB")
    assert still.getpixel((20, 20)) == pytest.approx((250, 0, 0), abs=8)


@pytest.mark.parametrize("shape", ["data", "mirror", "raw"])
async def test_poll_shapes(http: httpx2.AsyncClient, sandbox: Sandbox, shape: str) -> None:
    who, sid = await generated(http)
    sandbox.configure(poll_shape=shape)
    await submit_render(http, who, sid, "render_shape")
    assert sandbox.wait_idle(5)
    body = (await http.get("/api/render/proxy/lambda/render_shape", headers=who.headers)).json()
    if shape == "raw":
        assert set(body) == {"taskId", "status", "progress", "output"}
        assert body["status"] == "completed" and body["output"]["url"].endswith(".mp4")
        assert body["output"]["duration"] == 5.0 and body["output"]["size"] > 0
        return
    assert body["success"] is True and body["data"]["status"] == "completed"
    if shape == "data":
        assert set(body) == {"success", "data"}
    else:
        assert body["status"] == "completed" and body["progress"] == 100
        assert body["output"] == {"url": body["data"]["outputUrl"]}


async def test_legacy_render_paths(http: httpx2.AsyncClient) -> None:
    who, sid = await generated(http)
    draft = (await state(http, who, sid))["draft"]
    submit = await http.post(
        "/api/render/proxy/draft", json={"id": "render_old", "draft": draft}, headers=who.headers
    )
    assert submit.json() == {"taskId": "render_old", "status": "pending", "progress": 0}
    await wait_render(http, who, "render_old")
    body = (await http.get("/api/render/proxy/render_old", headers=who.headers)).json()
    assert body["taskId"] == "render_old" and body["status"] == "completed" and "url" in body["output"]


async def test_without_pyav_an_mp4_render_fails_with_the_fix(
    http: httpx2.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    who, sid = await generated(http)
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` now raises ImportError
    await submit_render(http, who, sid, "render_noav")
    data = await wait_render(http, who, "render_noav")
    assert data["status"] == "failed" and "pip install av" in data["error"]
    await submit_render(http, who, sid, "render_noav_png", fmt="png")
    assert (await wait_render(http, who, "render_noav_png"))["status"] == "completed"


async def test_identical_compositions_share_one_encode_with_the_cache(
    http: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    sandbox.configure(render_cache=True)
    who, sid = await generated(http)
    for i in range(3):
        await submit_render(http, who, sid, f"render_cached_{i}")
    outputs = [
        (await http.get((await wait_render(http, who, f"render_cached_{i}"))["outputUrl"])).content
        for i in range(3)
    ]
    assert outputs[0] == outputs[1] == outputs[2]


async def test_attribution_headers_are_recorded(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who, sid = await generated(http)
    await submit_render(http, who, sid, "render_attr")
    [entry] = sandbox.requests("/api/render/proxy/lambda", method="POST")
    assert {k: entry.headers[k.lower()] for k in ATTRIBUTION} == ATTRIBUTION
    assert entry.data["render_id"] == "render_attr"
