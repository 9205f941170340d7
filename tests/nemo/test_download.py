"""Downloads: http(s) only, at most 5 redirects, no token to third parties, the §2.11 fallback."""

from __future__ import annotations

import gzip

import httpx2
import pytest

from free_generation_image.errors import InvalidInput
from free_generation_image.nemo.client import NemoClient
from free_generation_image.nemo.errors import BackendUnavailable, BadResponse, NemoError

from .conftest import MakeClient
from .fakes import Chunks, FakeBackend, reply

pytestmark = pytest.mark.anyio

CDN = "https://cdn.test"
VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"v" * 100_000
FALLBACK = "/api/render/proxy/render_1/download"


def mp4() -> httpx2.Response:
    return httpx2.Response(200, content=VIDEO, headers={"content-type": "video/mp4; charset=binary"})


async def read_all(client: NemoClient, url: str) -> tuple[bytes, str | None, int | None]:
    async with client.download(url) as dl:
        return b"".join([c async for c in dl.aiter_bytes()]), dl.content_type, dl.length


async def test_download_streams_the_file(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("GET", "/r/a.mp4", lambda r: mp4())
    async with make_client(token="nmv_usr_secret_token") as client:
        content, content_type, length = await read_all(client, f"{CDN}/r/a.mp4?sig=abc")
    assert content == VIDEO
    assert content_type == "video/mp4"
    assert length == len(VIDEO)
    [request] = backend.requests
    assert "authorization" not in request.headers  # the token never goes to a media host
    assert not [name for name in request.headers if name.startswith("x-skill-")]  # nor our attribution
    assert request.headers["user-agent"].startswith("free-generation-image/")
    assert request.url.params["sig"] == "abc"


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://cdn.test/a.mp4", "/relative.mp4", "data:,x", ""]
)
async def test_only_http_urls(backend: FakeBackend, make_client: MakeClient, url: str) -> None:
    async with make_client(token="t") as client:
        with pytest.raises(InvalidInput):
            await read_all(client, url)
    assert backend.requests == []


async def test_follows_five_redirects(backend: FakeBackend, make_client: MakeClient) -> None:
    for i in range(5):
        backend.on("GET", f"/hop{i}", reply(302, headers={"location": f"/hop{i + 1}"}))
    backend.on("GET", "/hop5", lambda r: mp4())
    async with make_client(token="t") as client:
        assert (await read_all(client, f"{CDN}/hop0"))[0] == VIDEO
    assert len(backend.requests) == 6


async def test_refuses_a_sixth_redirect(backend: FakeBackend, make_client: MakeClient) -> None:
    for i in range(6):
        backend.on("GET", f"/hop{i}", reply(301, headers={"location": f"/hop{i + 1}"}))
    backend.on("GET", "/hop6", lambda r: mp4())
    async with make_client(token="t") as client:
        with pytest.raises(BadResponse, match="Too many redirects"):
            await read_all(client, f"{CDN}/hop0")
    assert len(backend.requests) == 6


async def test_refuses_a_redirect_to_another_scheme(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("GET", "/a", reply(302, headers={"location": "file:///etc/passwd"}))
    async with make_client(token="t") as client:
        with pytest.raises(BadResponse, match="non-http"):
            await read_all(client, f"{CDN}/a")


async def test_error_status_is_a_clean_error(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on(
        "GET",
        "/gone.mp4",
        reply(
            403,
            content=b"<?xml version='1.0'?><Error>AccessDenied</Error>",
            headers={"content-type": "application/xml"},
        ),
    )
    async with make_client(token="t") as client:
        with pytest.raises(NemoError) as info:
            await read_all(client, f"{CDN}/gone.mp4")
    assert info.value.message == "HTTP 403 Forbidden"


async def test_compressed_body_has_no_declared_length(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on(
        "GET",
        "/a.png",
        reply(
            content=gzip.compress(b"png" * 1000),
            headers={"content-type": "image/png", "content-encoding": "gzip"},
        ),
    )
    async with make_client(token="t") as client:
        content, _, length = await read_all(client, f"{CDN}/a.png")
    assert content == b"png" * 1000
    assert length is None


async def test_broken_download_is_backend_unavailable(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on(
        "GET",
        "/a.mp4",
        lambda r: httpx2.Response(
            200, headers={"content-type": "video/mp4"}, stream=Chunks([b"abc", httpx2.ReadError("reset")])
        ),
    )
    async with make_client(token="t") as client:
        with pytest.raises(BackendUnavailable, match="broke off"):
            await read_all(client, f"{CDN}/a.mp4")


async def test_fallback_endpoint_streams_bytes_with_the_token(
    backend: FakeBackend, make_client: MakeClient
) -> None:
    backend.on("GET", FALLBACK, lambda r: mp4())
    async with make_client(token="nmv_usr_abcdefgh") as client, client.download_render("render_1") as dl:
        assert b"".join([c async for c in dl.aiter_bytes()]) == VIDEO
    assert backend.requests[0].headers["authorization"] == "Bearer nmv_usr_abcdefgh"


@pytest.mark.parametrize(
    "answer",
    [
        {"output": {"url": f"{CDN}/out.mp4", "size": 123}},  # back end B's CLI shape (§2.11 CONFLICT)
        {"success": True, "data": {"outputUrl": f"{CDN}/out.mp4"}},
        {"code": 0, "data": {"url": f"{CDN}/out.mp4"}},
    ],
)
async def test_fallback_endpoint_answering_json_is_followed(
    backend: FakeBackend, make_client: MakeClient, answer: dict[str, object]
) -> None:
    backend.on("GET", FALLBACK, reply(json=answer))
    backend.on("GET", "/out.mp4", lambda r: mp4())
    async with make_client(token="nmv_usr_abcdefgh") as client, client.download_render("render_1") as dl:
        assert b"".join([c async for c in dl.aiter_bytes()]) == VIDEO
    follow = backend.calls("GET", "/out.mp4")[0]
    assert "authorization" not in follow.headers


async def test_fallback_json_without_url(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("GET", FALLBACK, reply(json={"success": True, "data": {"status": "processing"}}))
    async with make_client(token="t") as client:
        with pytest.raises(BadResponse, match="without a file URL"):
            async with client.download_render("render_1"):
                pass


async def test_fallback_not_ready(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("GET", FALLBACK, reply(404, json={"success": False, "error": "render not completed"}))
    async with make_client(token="t") as client:
        with pytest.raises(NemoError, match="render not completed"):
            async with client.download_render("render_1"):
                pass


async def test_cross_origin_redirect_drops_the_token(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("GET", FALLBACK, reply(307, headers={"location": f"{CDN}/signed.mp4"}))
    backend.on("GET", "/signed.mp4", lambda r: mp4())
    async with make_client(token="nmv_usr_abcdefgh") as client, client.download_render("render_1") as dl:
        assert dl.url == f"{CDN}/signed.mp4"
    assert "authorization" not in backend.calls("GET", "/signed.mp4")[0].headers
