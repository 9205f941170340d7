"""Files in the output dir: safe names, atomic never-overwriting saves, magic bytes, sidecars, previews.

Whatever the server sends (``../`` names, odd Unicode, wrong Content-Type, an HTML error page, endless
bytes), a download ends up as a complete file of the expected type inside the output dir, under a name
that did not exist before, or as nothing at all:

- bytes go to a hidden temp file in the target dir (``.fgi-*.part``) and are checked as they arrive
  (magic bytes of the first :data:`SNIFF_BYTES`, size cap); any failure or cancellation removes it;
- the finished file is published with ``os.link`` (fails if the name exists, so two writers can never
  overwrite each other), retrying ``name-2``, ``name-3``...; where hard links are unsupported it falls
  back to reserving the name with ``O_EXCL`` and renaming over that reservation.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import re
import tempfile
import time
import unicodedata
from collections.abc import AsyncIterable, Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote

import anyio.to_thread
from PIL import Image, ImageOps

from free_generation_image import videolib
from free_generation_image.errors import FGIError
from free_generation_image.nemo.errors import SUPPORTED_EXTENSIONS

log = logging.getLogger(__name__)

SNIFF_BYTES = 64
IMAGE_KINDS = frozenset({"png", "jpeg", "gif", "webp"})
VIDEO_KINDS = frozenset({"mp4", "mov", "webm", "mkv", "avi"})
AUDIO_KINDS = frozenset({"mp3", "wav", "m4a", "aac"})
MIME_TYPES: dict[str, str] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
    "avi": "video/x-msvideo",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "bin": "application/octet-stream",
}
_GROUPS = {"image": IMAGE_KINDS, "video": VIDEO_KINDS, "audio": AUDIO_KINDS}
_KIND_BY_MIME = {mime: ("jpeg" if ext == "jpg" else ext) for ext, mime in SUPPORTED_EXTENSIONS.items()}
_PART_PREFIX, _PART_SUFFIX = ".fgi-", ".part"
_MAX_NAME_ATTEMPTS = 10_000
MAX_STEM_BYTES = 150  # leaves room for "-9999.jpeg.json" under the usual 255-byte name limit


class UnexpectedContent(FGIError):
    """The server sent something other than the file we asked for (wrong type, empty, too large)."""

    exit_code = 4
    default_hint = (
        "The file could not be saved as sent by the server. Try again; if it keeps happening, open the "
        "project in the web app and download it there."
    )


class ContentTooLarge(UnexpectedContent):
    """The download passed its size cap and was abandoned."""


@dataclass(frozen=True)
class SavedFile:
    """A file that was written completely: where, how big, what it is (sniffed), its SHA-256."""

    path: Path
    size: int
    kind: str
    sha256: str


@dataclass(frozen=True)
class Preview:
    """A small inline image (JPEG or PNG) for hosts that show one next to the result."""

    data: bytes
    mime_type: str
    width: int
    height: int


@dataclass(frozen=True)
class NoPreview:
    """Why an image or video has no preview: a sentence for the user, with the fix when there is one."""

    reason: str


# ------------------------------------------------------------------------------------------- names

_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"{dev}{n}" for dev in ("com", "lpt") for n in "0123456789¹²³"}
)
_APOSTROPHES = frozenset("'’ʼ`´")  # dropped, not turned into a separator: don't -> dont


def _stem_chars(text: str) -> str:
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        category = unicodedata.category(ch)
        if category[0] in "LN" or (category[0] == "M" and out and out[-1] != "-"):
            out.append(ch)  # letters (any script), digits, and marks that follow a letter
        elif ch in _APOSTROPHES or category[0] == "C":
            continue  # controls, format characters (RTL overrides, zero-width), surrogates, unassigned
        else:
            out.append("-")  # spaces, separators, punctuation, symbols
    return re.sub(r"-{2,}", "-", "".join(out)).strip("-")


def _truncate(stem: str, max_len: int) -> str:
    cut = stem[:max_len]
    while len(cut.encode("utf-8")) > MAX_STEM_BYTES:
        cut = cut[:-1]
    if len(cut) < len(stem) and "-" in cut[len(cut) // 2 :]:
        cut = cut[: cut.rindex("-")]  # end on a word boundary when one is near
    while cut and len(cut) < len(stem) and unicodedata.category(stem[len(cut)])[0] == "M":
        cut = cut[:-1]  # never keep a letter whose combining marks were cut off
    return unicodedata.normalize("NFC", cut.strip("-"))


def safe_stem(text: str, *, max_len: int = 60, fallback: str = "generation") -> str:
    """A file-name stem from free text: letters (incl. CJK), digits and ``-``; one safe path component.

    At most ``max_len`` characters (never less than 12) and :data:`MAX_STEM_BYTES` UTF-8 bytes; never empty.
    """
    max_len = max(max_len, 12)
    stem = _truncate(_stem_chars(text), max_len)
    if not stem:
        stem = _truncate(_stem_chars(fallback), max_len) or "generation"
    if stem.casefold() in _WINDOWS_RESERVED:  # CON, NUL, COM1... are devices on Windows, with any extension
        stem += "-file"
    return stem


_DISPOSITION_STAR = re.compile(r"filename\*\s*=\s*([^']*)'[^']*'([^;]+)", re.IGNORECASE)
_DISPOSITION = re.compile(r"filename\s*=\s*(?:\"((?:[^\"\\]|\\.)*)\"|([^;]+))", re.IGNORECASE)


def stem_from_disposition(header: str | None) -> str | None:
    """The base name (no directories, no extension) a Content-Disposition header suggests, or None.

    Pass the result through :func:`safe_stem`; never use it as a path.
    """
    if not header:
        return None
    name: str | None = None
    if match := _DISPOSITION_STAR.search(header):
        charset = match.group(1).strip() or "utf-8"
        with contextlib.suppress(LookupError, ValueError):
            name = unquote(match.group(2).strip(), encoding=charset, errors="replace")
    if name is None and (match := _DISPOSITION.search(header)):
        name = match.group(1) if match.group(1) is not None else match.group(2).strip()
        name = re.sub(r"\\(.)", r"\1", name)
    if not name:
        return None
    base = re.split(r"[\\/]", name)[-1]
    base = base.rsplit(".", 1)[0] if "." in base.strip(".") else base
    return base.strip() or None


def is_inside(directory: Path, path: Path) -> bool:
    """True if ``path`` resolves to something strictly inside ``directory`` (symlinks followed)."""
    try:
        root = directory.resolve()
        target = path.resolve()
    except (OSError, RuntimeError, ValueError):
        return False
    return target != root and target.is_relative_to(root)


# ------------------------------------------------------------------------------------------- types


def sniff(head: bytes) -> str | None:
    """The type the first bytes show: png jpeg gif webp mp4 mov webm mkv avi mp3 wav m4a aac, else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF":
        return {b"WEBP": "webp", b"WAVE": "wav", b"AVI ": "avi"}.get(head[8:12])
    if head[4:8] == b"ftyp" and len(head) >= 12:
        brand = head[8:12]
        if brand == b"qt  ":
            return "mov"
        if brand in (b"M4A ", b"M4B ", b"M4P "):
            return "m4a"
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"):
            return None  # HEIF/AVIF images share the ISO box format; they are not videos
        return "mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "mov"  # QuickTime files written without an ftyp box
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head[:64] else "mkv"
    if head.startswith(b"ID3"):
        return "mp3"
    if len(head) >= 3 and head[0] == 0xFF:
        if head[1] & 0xF6 == 0xF0:
            return "aac"  # ADTS frame: 12 sync bits, layer 00
        layer_iii = (head[1] >> 1) & 0x03 == 1
        valid = head[1] & 0xE0 == 0xE0 and (head[1] >> 3) & 0x03 != 1
        if layer_iii and valid and head[2] >> 4 != 0x0F and (head[2] >> 2) & 0x03 != 0x03:
            return "mp3"
    return None


def _expected_kinds(expected: Collection[str] | None) -> frozenset[str] | None:
    if expected is None:
        return None
    kinds: set[str] = set()
    for name in expected:
        key = name.lower().lstrip(".")
        kinds |= _GROUPS.get(key, {"jpeg" if key == "jpg" else key})
    return frozenset(kinds)


def _media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def _suffix(kind: str) -> str:
    return ".jpg" if kind == "jpeg" else f".{kind}"


# ------------------------------------------------------------------------------------------ saving


def _fsync_dir(directory: Path) -> None:
    # Makes the new name durable on POSIX; directories cannot be opened this way on Windows.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _publish(tmp: Path, directory: Path, stem: str, suffix: str, *, keep_free: str = "") -> Path:
    """Give ``tmp`` the first free name ``stem{suffix}``, ``stem-2{suffix}``...; never replaces a file.

    ``keep_free`` skips names whose companion (``name + keep_free``) already exists, so a sidecar can
    follow the file.
    """
    use_links = True
    for n in range(1, _MAX_NAME_ATTEMPTS + 1):
        name = f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}"
        if Path(name).name != name or name.startswith("."):  # stems are sanitised; this is a last guard
            raise UnexpectedContent(f"Refusing the file name {name!r}.")
        target = directory / name
        if keep_free and os.path.lexists(directory / f"{name}{keep_free}"):
            continue
        if use_links:
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            except OSError as err:  # no hard links on this file system (FAT, some network shares)
                log.debug("hard link into %s failed (%s); reserving names with O_EXCL", directory, err)
                use_links = False
            else:
                os.unlink(tmp)
                return target
        try:
            fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            continue
        os.close(fd)
        os.replace(tmp, target)  # replaces only the empty reservation we just created
        return target
    raise UnexpectedContent(f"No free file name for {stem}{suffix} in {directory}.")


class _Writer:
    """Streams bytes into a hidden temp file, checking type and size, then publishes it under a free name."""

    def __init__(
        self,
        directory: Path,
        stem: str,
        *,
        expected: Collection[str] | None,
        max_bytes: int,
        content_type: str | None,
    ) -> None:
        self.directory = directory
        self.stem = safe_stem(stem)  # callers pass prompts and server names: sanitise every time
        self.expected = _expected_kinds(expected)
        self.max_bytes = max_bytes
        self.content_type = _media_type(content_type)
        self.size = 0
        self.kind: str | None = None
        self._head = bytearray()
        self._hash = hashlib.sha256()
        directory.mkdir(parents=True, exist_ok=True, mode=0o755)
        fd, name = tempfile.mkstemp(prefix=_PART_PREFIX, suffix=_PART_SUFFIX, dir=directory)
        self._tmp = Path(name)
        self._file = os.fdopen(fd, "wb")

    def __enter__(self) -> _Writer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.abort()

    def write(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise ContentTooLarge(
                f"The download is larger than the {self.max_bytes:,}-byte limit; it was stopped."
            )
        if self.kind is None:
            self._head += chunk[: SNIFF_BYTES - len(self._head)]
            if len(self._head) >= SNIFF_BYTES:
                self._check_type()
        self._hash.update(chunk)
        self._file.write(chunk)

    def _check_type(self) -> None:
        kind = sniff(bytes(self._head))
        if self.expected is not None and (kind is None or kind not in self.expected):
            # The bytes decide: "expected png, sent image/png" would hide that the body was no PNG at all.
            label = f" labelled {self.content_type}" if self.content_type else ""
            sent = kind or f"unrecognised data{label}"
            if self.content_type in ("text/html", "application/json", "text/plain", "application/xml"):
                sent = f"{self.content_type} (probably an error page)"
            want = "/".join(sorted(self.expected))
            raise UnexpectedContent(f"Expected a {want} file but the server sent {sent}; nothing was saved.")
        self.kind = kind or _KIND_BY_MIME.get(self.content_type or "") or "bin"

    def finish(self) -> SavedFile:
        """Check, flush, fsync and publish. Blocking: run it in a worker thread from async code."""
        if self.size == 0:
            raise UnexpectedContent("The server sent an empty file; nothing was saved.")
        if self.kind is None:
            self._check_type()  # shorter than SNIFF_BYTES
        kind = self.kind or "bin"
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.chmod(self._tmp, 0o644)  # mkstemp makes 0600; a download is an ordinary user file
        path = _publish(self._tmp, self.directory, self.stem, _suffix(kind), keep_free=".json")
        _fsync_dir(self.directory)
        return SavedFile(path=path, size=self.size, kind=kind, sha256=self._hash.hexdigest())

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self._tmp.unlink()


async def save_stream(
    directory: Path,
    stem: str,
    chunks: AsyncIterable[bytes],
    *,
    expected: Collection[str] | None,
    max_bytes: int,
    content_type: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> SavedFile:
    """Stream ``chunks`` into a new file in ``directory``: checked, size-capped, atomic, never overwriting.

    ``expected`` holds kinds (``png``, ``jpg``...) or groups (``image``, ``video``, ``audio``); None accepts
    anything. The extension comes from the bytes, not from the server. ``on_progress`` gets bytes so far.
    """
    writer = _Writer(directory, stem, expected=expected, max_bytes=max_bytes, content_type=content_type)
    with writer:  # removes the temp file on any error or cancellation
        async for chunk in chunks:
            # Chunks are small and land in the page cache: writing inline is cheaper than a thread hop each.
            writer.write(chunk)
            if on_progress is not None:
                on_progress(writer.size)
        return await anyio.to_thread.run_sync(writer.finish)


def save_bytes(
    directory: Path,
    stem: str,
    data: bytes,
    *,
    expected: Collection[str] | None,
    max_bytes: int,
    content_type: str | None = None,
) -> SavedFile:
    """:func:`save_stream` for data already in memory (blocking)."""
    with _Writer(
        directory, stem, expected=expected, max_bytes=max_bytes, content_type=content_type
    ) as writer:
        writer.write(data)
        return writer.finish()


_SECRET_KEY = re.compile(r"token|authorization|password|secret|api[_-]?key|cookie", re.IGNORECASE)
_TOKEN_VALUE = re.compile(r"nmv_usr_[A-Za-z0-9_\-]+")


def _redact(value: Any) -> Any:
    # Defence in depth: callers pass safe fields only, but a token must never reach the disk here.
    if isinstance(value, Mapping):
        return {str(k): "***" if _SECRET_KEY.search(str(k)) else _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    if isinstance(value, str):
        return _TOKEN_VALUE.sub("nmv_usr_***", value)
    return value


def write_sidecar(path: Path, meta: Mapping[str, object]) -> Path:
    """Write ``meta`` as JSON beside ``path`` (``<name>.json``): atomic, never overwriting, no secrets."""
    data = (json.dumps(_redact(meta), ensure_ascii=False, indent=2, default=str) + "\n").encode("utf-8")
    fd, name = tempfile.mkstemp(prefix=_PART_PREFIX, suffix=_PART_SUFFIX, dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        return _publish(tmp, path.parent, path.name, ".json")
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def remove_stale_partials(directory: Path, *, older_than_s: float = 24 * 3600) -> int:
    """Delete temp files left by a crashed process (``.fgi-*.part`` older than ``older_than_s``)."""
    removed = 0
    cutoff = time.time() - older_than_s
    with contextlib.suppress(OSError):
        for entry in directory.glob(f"{_PART_PREFIX}*{_PART_SUFFIX}"):
            with contextlib.suppress(OSError):
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
    return removed


# ---------------------------------------------------------------------------------------- previews


def _load_image(path: Path, max_px: int) -> Image.Image:
    with Image.open(path) as image:
        image.draft("RGB", (max_px, max_px))  # JPEG: decode at a reduced scale, much faster
        oriented = ImageOps.exif_transpose(image)  # a copy, loaded, upright
    return oriented


def _poster_frame(path: Path) -> Image.Image | None:
    """A frame about a second in (first frames are often black); :class:`videolib.VideoSupportMissing`
    when PyAV cannot be loaded or cannot decode the video's codec."""
    av = videolib.load()
    with av.open(str(path)) as container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        if stream.codec_context is None:  # PyAV opens the stream but has no decoder for its codec
            raise videolib.missing_decoder(_codec_name(stream))
        duration = container.duration / 1_000_000 if container.duration else 0.0
        target = min(1.0, duration / 4)
        chosen = None
        try:
            for index, frame in enumerate(container.decode(stream)):
                chosen = frame
                if (frame.time is not None and frame.time >= target) or index >= 120:
                    break
        except av.error.DecoderNotFoundError as err:
            raise videolib.missing_decoder(_codec_name(stream)) from err
        if chosen is None:
            return None
        image: Image.Image = chosen.to_image()
        return image


def _codec_name(stream: Any) -> str:
    context = getattr(stream, "codec_context", None)
    name = getattr(context, "name", None) or getattr(getattr(stream, "codec", None), "name", None)
    return str(name or "this")


def _encode(image: Image.Image, max_px: int, max_bytes: int) -> Preview | None:
    image.thumbnail((max_px, max_px))
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P", "PA"):  # CMYK, 16-bit, float: not for PNG/JPEG
        image = image.convert("RGBA" if has_alpha else "RGB")
    if has_alpha or image.width * image.height <= 256 * 256:
        # Small images and transparency look best as PNG, when that fits the budget.
        png = io.BytesIO()
        image.save(png, "PNG", optimize=True)
        if png.tell() <= max_bytes:
            return Preview(png.getvalue(), "image/png", image.width, image.height)
    rgb = image.convert("RGBA") if has_alpha else image.convert("RGB")
    if has_alpha:
        background = Image.new("RGB", rgb.size, "white")
        background.paste(rgb, mask=rgb.getchannel("A"))
        rgb = background
    while True:
        for quality in (85, 75, 65, 50, 35):
            out = io.BytesIO()
            rgb.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= max_bytes:
                return Preview(out.getvalue(), "image/jpeg", rgb.width, rgb.height)
        if min(rgb.size) <= 32:
            return None
        rgb = rgb.resize((max(1, rgb.width * 3 // 4), max(1, rgb.height * 3 // 4)), Image.Resampling.LANCZOS)


def try_preview(path: Path, *, max_px: int = 512, max_bytes: int = 150_000) -> Preview | NoPreview | None:
    """A thumbnail of an image or a video's poster frame within ``max_px`` and ``max_bytes``; for an image
    or video that gets none, a :class:`NoPreview` saying why; None for other files (audio, unknown).

    Blocking (decoding): call it from a worker thread in async code. Never raises on bad files.
    """
    kind = None
    try:
        with path.open("rb") as fh:
            kind = sniff(fh.read(SNIFF_BYTES))
        if kind in IMAGE_KINDS:
            image: Image.Image | None = _load_image(path, max_px)
        elif kind in VIDEO_KINDS:
            image = _poster_frame(path)
        else:
            return None
        preview = _encode(image, max_px, max_bytes) if image is not None else None
    except videolib.VideoSupportMissing as err:
        log.warning("no preview for %s: %s", path.name, err.message)
        return NoPreview(f"No preview of {path.name}. {err.user_text()}")
    except Exception as err:  # Pillow and PyAV raise many types on corrupt input; a preview is optional
        log.debug("no preview for %s: %s", path, err)
        if kind is None:
            return None  # unreadable: no file to speak of
        return NoPreview(f"No preview of {path.name}: its {kind.upper()} data could not be decoded.")
    if preview is None:
        what = "frame" if kind in VIDEO_KINDS else "image"
        return NoPreview(f"No preview of {path.name}: no {what} could be made small enough to show inline.")
    return preview


def make_preview(path: Path, *, max_px: int = 512, max_bytes: int = 150_000) -> Preview | None:
    """:func:`try_preview` when only the thumbnail matters: None when there is none, whatever the reason."""
    preview = try_preview(path, max_px=max_px, max_bytes=max_bytes)
    return preview if isinstance(preview, Preview) else None


__all__ = [
    "AUDIO_KINDS",
    "IMAGE_KINDS",
    "MIME_TYPES",
    "SNIFF_BYTES",
    "VIDEO_KINDS",
    "ContentTooLarge",
    "NoPreview",
    "Preview",
    "SavedFile",
    "UnexpectedContent",
    "is_inside",
    "make_preview",
    "remove_stale_partials",
    "safe_stem",
    "save_bytes",
    "save_stream",
    "sniff",
    "stem_from_disposition",
    "try_preview",
    "write_sidecar",
]
