"""naming, mediatypes, saving, previews: safe names, magic bytes, atomic never-overwriting saves, sidecars
and previews, on a real disk."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import unicodedata
from collections.abc import AsyncIterator
from fractions import Fraction
from pathlib import Path

import anyio
import av
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from free_generation_image import previews
from free_generation_image.mediatypes import sniff
from free_generation_image.naming import MAX_STEM_BYTES, is_inside, safe_stem
from free_generation_image.previews import NoPreview, Preview, make_preview, try_preview
from free_generation_image.saving import (
    ContentTooLarge,
    SavedFile,
    UnexpectedContent,
    remove_stale_partials,
    save_stream,
    write_sidecar,
)
from tests.pyav_faults import BROKEN_LOAD, with_broken_pyav, without_pyav

MB = 1024 * 1024


# ------------------------------------------------------------------------------------------ helpers


def image_bytes(fmt: str, size: tuple[int, int] = (32, 24), mode: str = "RGB", noise: bool = False) -> bytes:
    if noise:
        image = Image.frombytes(mode, size, os.urandom(size[0] * size[1] * len(mode)))
    else:
        image = Image.new(mode, size, (200, 30, 60, 128)[: len(mode)] if mode != "L" else 128)
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def mp4_bytes(tmp_path: Path, size: tuple[int, int] = (96, 64), frames: int = 20) -> bytes:
    path = tmp_path / "clip-source.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, 10)
        for i in range(frames):
            frame = av.VideoFrame.from_image(Image.new("RGB", size, (i * 12 % 256, 100, 200)))
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    data = path.read_bytes()
    path.unlink()
    return data


async def chunked(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --------------------------------------------------------------------------------------- safe_stem


@pytest.mark.parametrize(
    ("text", "stem"),
    [
        ("A red fox, in the snow!", "A-red-fox-in-the-snow"),
        ("一只红色的狐狸 在雪地里", "一只红色的狐狸-在雪地里"),
        ("東京の夜景、ネオン", "東京の夜景-ネオン"),
        ("don't stop", "dont-stop"),
        ("../../etc/passwd", "etc-passwd"),
        ("/absolute/path", "absolute-path"),
        (r"C:\Windows\System32\evil", "C-Windows-System32-evil"),
        ("trailing dots...   ", "trailing-dots"),
        ("...", "generation"),
        ("", "generation"),
        ("😀🎉", "generation"),
        ("CON", "CON-file"),
        ("nul", "nul-file"),
        ("com1", "com1-file"),
        ("LPT9", "LPT9-file"),
        ("COM¹", "COM¹-file"),
        ("\u202eexe.png", "exe-png"),  # right-to-left override
        ("ctrl\x00\x07chars\n", "ctrlchars"),
        ("zero\u200bwidth", "zerowidth"),
        ("cafe\u0301 au lait", "café-au-lait"),  # decomposed input comes out NFC
        ("snake_case and kebab-case", "snake-case-and-kebab-case"),
        ("Ｆｕｌｌ　ｗｉｄｔｈ", "Ｆｕｌｌ-ｗｉｄｔｈ"),
        ("हिन्दी शब्द", "हिन्दी-शब्द"),  # combining marks stay with their letters
    ],
)
def test_safe_stem_table(text: str, stem: str) -> None:
    assert safe_stem(text) == stem


def test_safe_stem_fallback_and_length() -> None:
    assert safe_stem("!!!", fallback="export") == "export"
    assert safe_stem("!!!", fallback="???") == "generation"
    long = safe_stem("a sunset over the ocean with golden light and seagulls flying over calm waves " * 3)
    assert len(long) <= 60
    assert not long.endswith("-")
    assert long == "a-sunset-over-the-ocean-with-golden-light-and-seagulls"  # cut at a word boundary
    cjk = safe_stem("猫" * 200)
    assert len(cjk.encode("utf-8")) <= MAX_STEM_BYTES


_RESERVED = {"con", "prn", "aux", "nul"} | {f"{d}{n}" for d in ("com", "lpt") for n in "0123456789¹²³"}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.integers(min_value=0, max_value=120))
def test_safe_stem_is_always_one_safe_component(text: str, max_len: int) -> None:
    stem = safe_stem(text, max_len=max_len)
    assert stem
    assert stem not in (".", "..")
    assert all(unicodedata.category(c)[0] in "LNM" or c == "-" for c in stem)
    assert not stem.startswith("-")
    assert not stem.endswith("-")
    assert len(stem) <= max(max_len, 12) + len("-file")
    assert len(stem.encode("utf-8")) <= MAX_STEM_BYTES + len("-file")
    assert stem.casefold() not in _RESERVED
    assert unicodedata.normalize("NFC", stem) == stem
    assert safe_stem(stem, max_len=max_len) == stem  # idempotent
    for root in (Path("/out"), Path("relative/out")):
        target = root / f"{stem}.png"
        assert target.parent == root
        assert target.name == f"{stem}.png"


# ------------------------------------------------------------------------------------------- sniff


def test_sniff_real_images() -> None:
    assert sniff(image_bytes("PNG")) == "png"
    assert sniff(image_bytes("JPEG")) == "jpeg"
    assert sniff(image_bytes("GIF")) == "gif"
    assert sniff(image_bytes("WEBP")) == "webp"


def test_sniff_real_mp4(tmp_path: Path) -> None:
    assert sniff(mp4_bytes(tmp_path)[:64]) == "mp4"


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00", "mp4"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00", "mp4"),
        (b"\x00\x00\x00\x18ftypavc1\x00\x00\x00\x00", "mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00", "mov"),
        (b"\x00\x00\x00\x08wide\x00\x00\x00\x00mdat", "mov"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "m4a"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", None),  # HEIF image, not a video
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", None),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "webm"),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", "mkv"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "wav"),
        (b"RIFF\x24\x00\x00\x00AVI LIST", "avi"),
        (b"RIFF\x24\x00\x00\x00JUNK", None),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "mp3"),
        (b"\xff\xfb\x90\x64\x00\x00", "mp3"),  # MPEG-1 layer III frame
        (b"\xff\xf1\x50\x80\x02\x1f", "aac"),  # ADTS
        (b"\xff\xfb\xf0\x64", None),  # bad bitrate index
        (b"<!DOCTYPE html><html><body>Not found</body></html>", None),
        (b'{"code": 1001, "message": "unauthorized"}', None),
        (b"", None),
        (b"\x89PN", None),
    ],
)
def test_sniff_headers(head: bytes, kind: str | None) -> None:
    assert sniff(head) == kind


# ------------------------------------------------------------------------------------------ saving


@pytest.mark.anyio
async def test_save_stream_writes_a_complete_file(tmp_path: Path) -> None:
    data = image_bytes("PNG", (64, 64), noise=True)
    seen: list[int] = []
    out = tmp_path / "new" / "nested"
    saved = await save_stream(
        out,
        "A red fox",
        chunked(data),
        expected={"png"},
        max_bytes=MB,
        content_type="image/png",
        on_progress=seen.append,
    )
    assert saved.path == out / "A-red-fox.png"
    assert saved.path.read_bytes() == data
    assert (saved.size, saved.kind) == (len(data), "png")
    assert saved.sha256 == hashlib.sha256(data).hexdigest()
    assert stat.S_IMODE(saved.path.stat().st_mode) == 0o644
    assert seen == sorted(seen)
    assert seen[-1] == len(data)
    assert listing(out) == ["A-red-fox.png"]  # no temp file left behind


@pytest.mark.anyio
async def test_the_extension_comes_from_the_bytes(tmp_path: Path) -> None:
    saved = await save_stream(
        tmp_path,
        "photo",
        chunked(image_bytes("JPEG")),
        expected={"image"},
        max_bytes=MB,
        content_type="application/octet-stream",
    )
    assert saved.path.name == "photo.jpg"
    assert saved.kind == "jpeg"


@pytest.mark.anyio
@pytest.mark.parametrize("stem", ["../../evil", "/etc/passwd", r"..\..\evil", "CON", "\u202egnp.exe", "."])
async def test_hostile_names_stay_inside(tmp_path: Path, stem: str) -> None:
    out = tmp_path / "out"
    saved = await save_stream(out, stem, chunked(image_bytes("PNG")), expected={"png"}, max_bytes=MB)
    assert saved.path.parent == out
    assert is_inside(out, saved.path)
    assert listing(tmp_path) == ["out"]


@pytest.mark.anyio
async def test_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "cat.png").write_bytes(b"mine")
    (tmp_path / "cat-2.png.json").write_text("{}")  # a sidecar must be able to follow the file
    first = await save_stream(tmp_path, "cat", chunked(image_bytes("PNG")), expected={"png"}, max_bytes=MB)
    second = await save_stream(tmp_path, "cat", chunked(image_bytes("PNG")), expected={"png"}, max_bytes=MB)
    assert (first.path.name, second.path.name) == ("cat-3.png", "cat-4.png")
    assert (tmp_path / "cat.png").read_bytes() == b"mine"


@pytest.mark.anyio
async def test_a_planted_symlink_is_neither_followed_nor_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (out / "cat.png").symlink_to(victim)
    (out / "dog.png").symlink_to(tmp_path / "does-not-exist.png")  # dangling
    cat = await save_stream(out, "cat", chunked(image_bytes("PNG")), expected={"png"}, max_bytes=MB)
    dog = await save_stream(out, "dog", chunked(image_bytes("PNG")), expected={"png"}, max_bytes=MB)
    assert (cat.path.name, dog.path.name) == ("cat-2.png", "dog-2.png")
    assert victim.read_text() == "precious"
    assert not (tmp_path / "does-not-exist.png").exists()


@pytest.mark.anyio
async def test_concurrent_saves_get_distinct_names(tmp_path: Path) -> None:
    payloads = [image_bytes("PNG", (8 + i, 8)) for i in range(12)]
    results: list[SavedFile] = []

    async def one(data: bytes) -> None:
        results.append(await save_stream(tmp_path, "same", chunked(data, 5), expected={"png"}, max_bytes=MB))

    async with anyio.create_task_group() as tg:
        for data in payloads:
            tg.start_soon(one, data)
    assert len({r.path for r in results}) == len(payloads)
    assert sorted(r.path.read_bytes() for r in results) == sorted(payloads)
    assert len(listing(tmp_path)) == len(payloads)


@pytest.mark.anyio
async def test_without_hard_links_it_still_never_overwrites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: object, dst: object) -> None:
        raise PermissionError("hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    (tmp_path / "clip.png").write_bytes(b"mine")
    saved = await save_stream(tmp_path, "clip", chunked(image_bytes("PNG")), expected={"png"}, max_bytes=MB)
    assert saved.path.name == "clip-2.png"
    assert (tmp_path / "clip.png").read_bytes() == b"mine"
    assert listing(tmp_path) == ["clip-2.png", "clip.png"]


@pytest.mark.anyio
async def test_an_error_page_is_refused(tmp_path: Path) -> None:
    page = b"<!DOCTYPE html><html><head><title>403 Forbidden</title></head><body>AccessDenied</body></html>"
    with pytest.raises(UnexpectedContent, match=r"png.*text/html \(probably an error page\)"):
        await save_stream(
            tmp_path, "x", chunked(page), expected={"png"}, max_bytes=MB, content_type="text/html"
        )
    assert listing(tmp_path) == []


@pytest.mark.anyio
async def test_a_video_when_an_image_was_expected_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnexpectedContent, match="sent mp4"):
        await save_stream(tmp_path, "x", chunked(mp4_bytes(tmp_path)), expected={"image"}, max_bytes=MB)
    assert listing(tmp_path) == []


@pytest.mark.anyio
async def test_size_cap(tmp_path: Path) -> None:
    data = image_bytes("PNG", (200, 200), noise=True)
    with pytest.raises(ContentTooLarge):
        await save_stream(tmp_path, "big", chunked(data, 1000), expected={"png"}, max_bytes=len(data) - 1)
    assert listing(tmp_path) == []
    saved = await save_stream(tmp_path, "big", chunked(data, 1000), expected={"png"}, max_bytes=len(data))
    assert saved.size == len(data)


@pytest.mark.anyio
async def test_empty_download_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnexpectedContent, match="empty"):
        await save_stream(tmp_path, "x", chunked(b""), expected=None, max_bytes=MB)
    assert listing(tmp_path) == []


@pytest.mark.anyio
async def test_unknown_bytes_without_expectation(tmp_path: Path) -> None:
    by_type = await save_stream(
        tmp_path,
        "a",
        chunked(b"\x00" * 100),
        expected=None,
        max_bytes=MB,
        content_type="video/mp4; codecs=avc1",
    )
    unknown = await save_stream(tmp_path, "b", chunked(b"\x00" * 100), expected=None, max_bytes=MB)
    assert (by_type.path.name, by_type.kind) == ("a.mp4", "mp4")
    assert (unknown.path.name, unknown.kind) == ("b.bin", "bin")


@pytest.mark.anyio
async def test_a_failing_source_leaves_nothing(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield image_bytes("PNG")[:10]
        raise ConnectionResetError("peer went away")

    with pytest.raises(ConnectionResetError):
        await save_stream(tmp_path, "x", broken(), expected={"png"}, max_bytes=MB)
    assert listing(tmp_path) == []


@pytest.mark.anyio
async def test_cancellation_leaves_nothing(tmp_path: Path) -> None:
    started = anyio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        yield image_bytes("PNG", (64, 64), noise=True)
        started.set()
        await anyio.sleep_forever()
        yield b""  # pragma: no cover

    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: save_stream(tmp_path, "x", stalls(), expected={"png"}, max_bytes=MB))
        await started.wait()
        assert len(listing(tmp_path)) == 1  # the hidden temp file exists while downloading
        tg.cancel_scope.cancel()
    assert listing(tmp_path) == []


@pytest.mark.anyio
async def test_save_in_one_chunk(tmp_path: Path) -> None:
    data = image_bytes("GIF")
    saved = await save_stream(
        tmp_path, "anim", chunked(data, len(data)), expected={"gif", "png"}, max_bytes=MB
    )
    assert (saved.path.name, saved.path.read_bytes()) == ("anim.gif", data)
    with pytest.raises(UnexpectedContent):  # shorter than the sniffed head: checked when it ends
        await save_stream(tmp_path, "anim", chunked(b"GIF"), expected={"gif"}, max_bytes=MB)
    assert listing(tmp_path) == ["anim.gif"]


def test_remove_stale_partials(tmp_path: Path) -> None:
    old = tmp_path / ".fgi-abc.part"
    old.write_bytes(b"x")
    os.utime(old, (1, 1))
    fresh = tmp_path / ".fgi-def.part"
    fresh.write_bytes(b"x")
    keep = tmp_path / "photo.png"
    keep.write_bytes(b"x")
    os.utime(keep, (1, 1))
    assert remove_stale_partials(tmp_path) == 1
    assert listing(tmp_path) == [".fgi-def.part", "photo.png"]
    assert remove_stale_partials(tmp_path / "missing") == 0


# ----------------------------------------------------------------------------------------- sidecar


def test_sidecar_beside_the_file_never_overwriting(tmp_path: Path) -> None:
    media = tmp_path / "猫.png"
    media.write_bytes(b"x")
    meta = {"prompt": "一只猫", "credits": {"before": 100, "after": 0}, "path": tmp_path}
    first = write_sidecar(media, meta)
    second = write_sidecar(media, {"prompt": "again"})
    assert first == tmp_path / "猫.png.json"
    assert second == tmp_path / "猫.png-2.json"
    loaded = json.loads(first.read_text(encoding="utf-8"))
    assert loaded == {"prompt": "一只猫", "credits": {"before": 100, "after": 0}, "path": str(tmp_path)}
    assert "一只猫" in first.read_text(encoding="utf-8")  # readable, not \\u-escaped
    assert json.loads(second.read_text())["prompt"] == "again"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_sidecar_never_carries_a_token(tmp_path: Path) -> None:
    media = tmp_path / "a.png"
    media.write_bytes(b"x")
    token = "nmv_usr_" + "A1b2_C3-d4" * 4
    path = write_sidecar(
        media,
        {
            "token": token,
            "headers": {"Authorization": f"Bearer {token}"},
            "note": f"used {token}",
            "list": [token],
            "claim_token": "clm_x",
        },
    )
    text = path.read_text()
    assert token not in text
    assert "clm_x" not in text
    assert json.loads(text)["note"] == "used nmv_usr_***"


# ------------------------------------------------------------------------------------ containment


def test_is_inside(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "secret").write_text("x")
    (out / "link").symlink_to(tmp_path / "secret")
    assert is_inside(out, out / "a.png")
    assert is_inside(out, out / "sub" / ".." / "a.png")
    assert not is_inside(out, out)
    assert not is_inside(out, out / ".." / "a.png")
    assert not is_inside(out, tmp_path / "outside.png")
    assert not is_inside(out, out / "link")  # a symlink pointing out is outside


# ---------------------------------------------------------------------------------------- previews


def _decoded(preview: Preview) -> Image.Image:
    image = Image.open(io.BytesIO(preview.data))
    assert image.size == (preview.width, preview.height)
    assert preview.mime_type == {"PNG": "image/png", "JPEG": "image/jpeg"}[image.format or ""]
    return image


def test_preview_of_a_large_photo(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(image_bytes("PNG", (2000, 1000), noise=True))
    preview = make_preview(path)
    assert preview is not None
    assert len(preview.data) <= 150_000
    assert (preview.width, preview.height) == (512, 256)
    assert _decoded(preview).format == "JPEG"


def test_preview_of_a_small_transparent_image_stays_png(tmp_path: Path) -> None:
    path = tmp_path / "icon.png"
    path.write_bytes(image_bytes("PNG", (64, 64), mode="RGBA"))
    preview = make_preview(path)
    assert preview is not None
    assert _decoded(preview).mode == "RGBA"


def test_preview_respects_exif_orientation(tmp_path: Path) -> None:
    image = Image.new("RGB", (300, 100), "red")
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° on display
    path = tmp_path / "rotated.jpg"
    image.save(path, "JPEG", exif=exif)
    preview = make_preview(path)
    assert preview is not None
    assert (preview.width, preview.height) == (100, 300)


@pytest.mark.parametrize("budget", [2_000, 20_000])
def test_preview_never_exceeds_the_byte_budget(tmp_path: Path, budget: int) -> None:
    path = tmp_path / "noise.png"
    path.write_bytes(image_bytes("PNG", (800, 800), noise=True))
    preview = make_preview(path, max_px=256, max_bytes=budget)
    assert preview is None or len(preview.data) <= budget
    assert preview is not None
    assert max(preview.width, preview.height) <= 256


def test_preview_of_an_mp4_is_a_poster_frame(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(mp4_bytes(tmp_path, size=(96, 64)))
    preview = make_preview(path)
    assert preview is not None
    assert (preview.width, preview.height) == (96, 64)
    assert _decoded(preview).getpixel((48, 32)) != (0, 0, 0)


def test_without_pyav_a_video_gets_a_note_saying_so_and_how_to_fix_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(mp4_bytes(tmp_path))
    without_pyav(monkeypatch)
    assert make_preview(path) is None
    note = try_preview(path)
    assert isinstance(note, NoPreview)
    assert note.reason.startswith("No preview of clip.mp4. Video support is missing: PyAV (the `av` package")
    assert "is not installed" in note.reason
    assert "pip install av" in note.reason
    assert "extra" not in note.reason
    assert isinstance(try_preview(_png(tmp_path)), Preview)  # images never needed PyAV


def test_a_broken_pyav_is_named_as_broken_with_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(mp4_bytes(tmp_path))
    with_broken_pyav(monkeypatch, tmp_path)
    note = try_preview(path)
    assert isinstance(note, NoPreview)
    assert "Video support is broken: PyAV (the `av` package) is installed but cannot be loaded" in note.reason
    assert BROKEN_LOAD in note.reason
    assert "pip install --force-reinstall av" in note.reason


def test_a_video_codec_pyav_cannot_decode_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A PyAV built against a reduced FFmpeg opens the file but has no decoder for the stream's codec.
    class Stream:
        codec_context = None
        codec = type("Codec", (), {"name": "hevc"})()

    class Container:
        streams = type("Streams", (), {"video": [Stream()]})()
        duration = 1_000_000

        def __enter__(self) -> Container:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    reduced = type("av", (), {"open": staticmethod(lambda _path: Container())})
    monkeypatch.setattr(previews.videolib, "load", lambda: reduced)
    path = tmp_path / "clip.mp4"
    path.write_bytes(mp4_bytes(tmp_path))
    note = try_preview(path)
    assert isinstance(note, NoPreview)
    assert "this PyAV build cannot decode hevc video" in note.reason
    assert "--only-binary=av av" in note.reason


def test_a_corrupt_image_or_video_gets_a_note_and_other_files_none(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 200)
    note = try_preview(clip)
    assert isinstance(note, NoPreview)
    assert note.reason == "No preview of clip.mp4: its MP4 data could not be decoded."
    text = tmp_path / "notes.txt"
    text.write_text("not media")
    assert try_preview(text) is None
    assert try_preview(tmp_path / "missing.png") is None


def _png(tmp_path: Path) -> Path:
    path = tmp_path / "still.png"
    path.write_bytes(image_bytes("PNG"))
    return path


@pytest.mark.parametrize(
    "content",
    [
        image_bytes("PNG")[:40] + b"garbage" * 20,  # truncated / corrupt PNG
        b"\x00\x00\x00\x18ftypisom" + b"\x00" * 200,  # an MP4 header and nothing playable
        b"just some text, not media",
        b"",
    ],
)
def test_bad_files_give_no_preview(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.bin"
    path.write_bytes(content)
    assert make_preview(path) is None


def test_missing_file_gives_no_preview(tmp_path: Path) -> None:
    assert make_preview(tmp_path / "nope.png") is None
