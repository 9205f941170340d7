"""Uploads: local checks before sending, a correct multipart body, streamed from disk in bounded memory."""

from __future__ import annotations

import email.message
import email.parser
import json
import os
import tracemalloc
from pathlib import Path

import httpx2
import psutil  # type: ignore[import-untyped]
import pytest

from free_generation_image.config import Settings
from free_generation_image.errors import InvalidInput
from free_generation_image.nemo.client import NemoClient
from free_generation_image.nemo.errors import MAX_UPLOAD_BYTES, FileTooLarge, UnsupportedFileType
from free_generation_image.nemo.upload import MultipartUpload, check_file
from free_generation_image.store import Store

from .conftest import API, MakeClient
from .fakes import FakeBackend, ok

pytestmark = pytest.mark.anyio

SID = "5529798706024415232"
UPLOAD = f"/api/upload-video/nemo_agent/me/{SID}"
FILES = {
    "files": [
        {
            "filename": "a.png",
            "file_type": "image",
            "cdn_url": "https://cdn.test/a.png",
            "width": 64,
            "height": 48,
        }
    ],
    "session_state_applied": True,
}


def parts(body: bytes, content_type: str) -> list[tuple[str, str, bytes]]:
    """(Content-Disposition, Content-Type, payload) of each part, parsed by the stdlib."""
    message = email.parser.BytesParser().parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    assert message.is_multipart()
    out: list[tuple[str, str, bytes]] = []
    for part in message.get_payload():
        assert isinstance(part, email.message.Message)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        out.append((str(part["Content-Disposition"]), str(part["Content-Type"]), payload))
    return out


async def test_files_are_sent_as_repeated_files_parts(
    backend: FakeBackend, make_client: MakeClient, tmp_path: Path
) -> None:
    png, mp3 = tmp_path / "a.png", tmp_path / '日落 "song".MP3'
    png.write_bytes(b"\x89PNG" + bytes(range(256)) * 10)
    mp3.write_bytes(b"ID3" + b"\x00\xff" * 5000)
    backend.on("POST", UPLOAD, ok(FILES))
    progress: list[tuple[int, int]] = []
    async with make_client(token="t") as client:
        result = await client.upload_files(SID, [png, mp3], on_progress=lambda a, b: progress.append((a, b)))
    assert [(f.filename, f.file_type, f.width, f.height) for f in result] == [("a.png", "image", 64, 48)]
    [request] = backend.calls("POST", UPLOAD)
    body = request.content
    assert int(request.headers["content-length"]) == len(body)
    assert "transfer-encoding" not in request.headers
    got = parts(body, request.headers["content-type"])
    assert got[0] == ('form-data; name="files"; filename="a.png"', "image/png", png.read_bytes())
    assert got[1][1:] == ("audio/mpeg", mp3.read_bytes())
    # Non-ASCII names go raw in UTF-8, quotes %-escaped (the HTML5 form encoding browsers use).
    assert 'Content-Disposition: form-data; name="files"; filename="日落 %22song%22.MP3"'.encode() in body
    total = png.stat().st_size + mp3.stat().st_size
    assert progress[-1] == (total, total)
    assert [p[0] for p in progress] == sorted(p[0] for p in progress)


def test_content_length_matches_the_streamed_body(tmp_path: Path) -> None:
    files = []
    for i, size in enumerate([1, 1000, 300_000]):
        path = tmp_path / f"f{i}.jpg"
        path.write_bytes(b"x" * size)
        files.append(check_file(path))
    upload = MultipartUpload(files, chunk_size=4096)

    async def read() -> bytes:
        return b"".join([chunk async for chunk in upload.stream()])

    import anyio

    body = anyio.run(read)
    assert len(body) == upload.content_length
    assert body.endswith(f"--{upload.boundary}--\r\n".encode())


class Sink(httpx2.AsyncBaseTransport):
    """Consumes the request body chunk by chunk and remembers only its size (MockTransport reads it whole)."""

    def __init__(self) -> None:
        self.received = 0
        self.largest_chunk = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        assert isinstance(request.stream, httpx2.AsyncByteStream)
        async for chunk in request.stream:
            self.received += len(chunk)
            self.largest_chunk = max(self.largest_chunk, len(chunk))
        return httpx2.Response(200, json={"code": 0, "data": FILES})


async def test_large_upload_streams_in_bounded_memory(tmp_path: Path) -> None:
    big = tmp_path / "big.mp4"
    with big.open("wb") as fh:
        fh.truncate(MAX_UPLOAD_BYTES)  # sparse: no disk used, 200 MB to read
    sink = Sink()
    settings = Settings(api_url=API, token="t", config_dir=tmp_path / "cfg")
    client = NemoClient(settings, Store(settings.config_dir), http=httpx2.AsyncClient(transport=sink))
    rss_before = psutil.Process().memory_info().rss
    tracemalloc.start()
    try:
        async with client:
            await client.upload_files(SID, [big])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_growth = psutil.Process().memory_info().rss - rss_before
    assert sink.received > MAX_UPLOAD_BYTES
    assert sink.largest_chunk <= 256 * 1024
    assert peak < 10 * 1024 * 1024, peak
    assert rss_growth < 50 * 1024 * 1024, rss_growth


@pytest.mark.parametrize(
    ("name", "content", "error", "text"),
    [
        ("notes.txt", b"hello", UnsupportedFileType, ".txt is not a supported"),
        ("noext", b"hello", UnsupportedFileType, "no extension"),
        ("empty.png", b"", InvalidInput, "is empty"),
    ],
)
async def test_local_checks_refuse_before_sending(
    backend: FakeBackend,
    make_client: MakeClient,
    tmp_path: Path,
    name: str,
    content: bytes,
    error: type[Exception],
    text: str,
) -> None:
    good = tmp_path / "good.png"
    good.write_bytes(b"png")
    bad = tmp_path / name
    bad.write_bytes(content)
    async with make_client(token="t") as client:
        with pytest.raises(error, match=text) as info:
            await client.upload_files(SID, [good, bad])
    assert backend.requests == []  # nothing sent, not even the good file
    if error is UnsupportedFileType:
        assert isinstance(info.value, UnsupportedFileType)
        assert "mp4" in info.value.hint
        assert "webp" in info.value.hint


async def test_missing_file_and_folder(backend: FakeBackend, make_client: MakeClient, tmp_path: Path) -> None:
    async with make_client(token="t") as client:
        with pytest.raises(InvalidInput, match="File not found"):
            await client.upload_files(SID, [tmp_path / "nope.png"])
        folder = tmp_path / "dir.png"
        folder.mkdir()
        with pytest.raises(InvalidInput, match="not a regular file"):
            await client.upload_files(SID, [folder])
        with pytest.raises(InvalidInput, match="No file"):
            await client.upload_files(SID, [])
    assert backend.requests == []


async def test_too_large_file(backend: FakeBackend, make_client: MakeClient, tmp_path: Path) -> None:
    big = tmp_path / "huge.mov"
    with big.open("wb") as fh:
        fh.truncate(300 * 1024 * 1024)
    async with make_client(token="t") as client:
        with pytest.raises(FileTooLarge, match="300 MB") as info:
            await client.upload_files(SID, [big])
    assert "200 MB" in info.value.hint
    assert backend.requests == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads everything")
async def test_unreadable_file(backend: FakeBackend, make_client: MakeClient, tmp_path: Path) -> None:
    locked = tmp_path / "locked.png"
    locked.write_bytes(b"x")
    locked.chmod(0)
    async with make_client(token="t") as client:
        with pytest.raises(InvalidInput, match="permission"):
            await client.upload_files(SID, [locked])


async def test_file_that_shrinks_during_upload(tmp_path: Path) -> None:
    path = tmp_path / "clip.webm"
    path.write_bytes(b"x" * 10_000)
    upload = MultipartUpload([check_file(path)], chunk_size=1000)
    path.write_bytes(b"x" * 10)
    with pytest.raises(InvalidInput, match="shrank"):
        async for _ in upload.stream():
            pass


async def test_urls_are_handed_to_the_backend(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("POST", UPLOAD, ok(FILES))
    async with make_client(token="t") as client:
        result = await client.upload_urls(SID, [" https://example.com/a.png ", "http://example.com/b.mp4"])
    assert result[0].cdn_url == "https://cdn.test/a.png"
    [request] = backend.requests  # nothing was fetched from example.com
    assert json.loads(request.content) == {
        "urls": ["https://example.com/a.png", "http://example.com/b.mp4"],
        "source_type": "url",
    }


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/a.mp4", "example.com/a.png", "https://", ""]
)
async def test_non_http_urls_are_refused(backend: FakeBackend, make_client: MakeClient, url: str) -> None:
    async with make_client(token="t") as client:
        with pytest.raises(InvalidInput):
            await client.upload_urls(SID, ["https://example.com/ok.png", url])
    assert backend.requests == []


@pytest.mark.parametrize(
    "ext",
    ["mp4", "MOV", "avi", "webm", "mkv", "jpg", "JPEG", "png", "gif", "webp", "mp3", "wav", "m4a", "aac"],
)
def test_supported_extensions(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"file.{ext}"
    path.write_bytes(b"x")
    assert check_file(path).content_type.split("/")[0] in ("video", "image", "audio")
