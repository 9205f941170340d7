"""Uploads (§2.5): multipart ``files`` and JSON ``urls``, real metadata, 4001/4002."""

from __future__ import annotations

import hashlib
import io

import httpx2
import pytest
from PIL import Image

from free_generation_image.sandbox import Sandbox
from free_generation_image.sandbox.video import prompt_clip

from .helpers import login, new_session, state

pytestmark = pytest.mark.anyio


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(out, format="PNG")
    return out.getvalue()


async def test_multipart_upload_of_several_files(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    clip = prompt_clip("uploaded clip", 64, 36, 1.0, 10)
    files = [("files", ("still.png", png(), "image/png")), ("files", ("clip.mp4", clip, "video/mp4"))]
    response = await http.post(f"/api/upload-video/nemo_agent/me/{sid}", files=files, headers=who.headers)
    body = response.json()
    assert body["code"] == 0 and body["data"]["session_state_applied"] is True
    image, video = body["data"]["files"]
    assert image == {
        "filename": "still.png",
        "file_type": "image",
        "cdn_url": image["cdn_url"],
        "hash": hashlib.sha256(png()).hexdigest(),
        "width": 64,
        "height": 48,
    }
    assert (video["file_type"], video["width"], video["height"], video["fps"]) == ("video", 64, 36, 10)
    assert video["duration"] == pytest.approx(1.0, abs=0.1)
    assert (await http.get(video["cdn_url"])).content == clip
    assert (await state(http, who, sid))["video_infos"] == [image, video]
    [entry] = sandbox.requests("/api/upload-video")
    assert entry.body == f"multipart files=still.png ({len(png())} B), clip.mp4 ({len(clip)} B)"


async def test_upload_by_url_of_a_sandbox_file_reads_it(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    first = await http.post(
        f"/api/upload-video/nemo_agent/me/{sid}",
        files=[("files", ("a.png", png(32, 32), "image/png"))],
        headers=who.headers,
    )
    url = first.json()["data"]["files"][0]["cdn_url"]
    response = await http.post(
        f"/api/upload-video/nemo_agent/me/{sid}",
        json={"urls": [url], "source_type": "url"},
        headers=who.headers,
    )
    [entry] = response.json()["data"]["files"]
    assert (entry["filename"], entry["width"], entry["cdn_url"]) == ("a.png", 32, url)


async def test_upload_by_foreign_url_is_registered_without_fetching(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    response = await http.post(
        f"/api/upload-video/nemo_agent/me/{sid}",
        json={"urls": ["https://cdn.example/footage/beach.MOV"], "source_type": "url"},
        headers=who.headers,
    )
    [entry] = response.json()["data"]["files"]
    assert (entry["filename"], entry["file_type"], entry["cdn_url"]) == (
        "beach.MOV",
        "video",
        "https://cdn.example/footage/beach.MOV",
    )


@pytest.mark.parametrize("name", ["notes.txt", "archive.zip", "noextension"])
async def test_unsupported_type_is_4001(http: httpx2.AsyncClient, name: str) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    response = await http.post(
        f"/api/upload-video/nemo_agent/me/{sid}",
        files=[("files", (name, b"hello", "text/plain"))],
        headers=who.headers,
    )
    assert (response.status_code, response.json()["code"]) == (200, 4001)
    by_url = await http.post(
        f"/api/upload-video/nemo_agent/me/{sid}",
        json={"urls": [f"https://x.example/{name}"]},
        headers=who.headers,
    )
    assert by_url.json()["code"] == 4001
    assert (await state(http, who, sid))["video_infos"] == []


async def test_too_large_is_4002_and_nothing_is_added(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.configure(max_upload_bytes=1000, status_4002=413)
    who = await login(http)
    sid = await new_session(http, who)
    files = [
        ("files", ("small.png", png(8, 8), "image/png")),
        ("files", ("big.mp4", b"\0" * 1001, "video/mp4")),
    ]
    response = await http.post(f"/api/upload-video/nemo_agent/me/{sid}", files=files, headers=who.headers)
    assert (response.status_code, response.json()["code"]) == (413, 4002)
    assert (await state(http, who, sid))["video_infos"] == []


async def test_upload_needs_files_or_urls(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    sid = await new_session(http, who)
    empty = await http.post(f"/api/upload-video/nemo_agent/me/{sid}", json={"urls": []}, headers=who.headers)
    assert empty.status_code == 400
    wrong_field = await http.post(
        f"/api/upload-video/nemo_agent/me/{sid}",
        files=[("file", ("a.png", png(), "image/png"))],
        headers=who.headers,
    )
    assert wrong_field.status_code == 400


async def test_upload_to_an_unknown_session_is_1002(http: httpx2.AsyncClient) -> None:
    who = await login(http)
    response = await http.post(
        "/api/upload-video/nemo_agent/me/999", json={"urls": ["https://x/a.png"]}, headers=who.headers
    )
    assert response.json()["code"] == 1002
