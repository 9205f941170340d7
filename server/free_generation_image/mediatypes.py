"""Media types: the product's one extension -> MIME table, the kinds it groups, and magic-byte sniffing.

A *kind* is what the bytes are (``png``, ``jpeg``, ``mp4``...); every kind is also an extension key of
:data:`MIME_TYPES`, beside ``jpg``. The sandbox keeps its own table: it plays the backend, not the client.
"""

from __future__ import annotations

from collections.abc import Collection

# Every file type the backend accepts and the product saves (contract: upload formats, generated media).
MIME_TYPES: dict[str, str] = {
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "avi": "video/x-msvideo",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
}
OCTET_STREAM = "application/octet-stream"
SNIFF_BYTES = 64
IMAGE_KINDS = frozenset({"png", "jpeg", "gif", "webp"})
VIDEO_KINDS = frozenset({"mp4", "mov", "webm", "mkv", "avi"})
AUDIO_KINDS = frozenset({"mp3", "wav", "m4a", "aac"})
_GROUPS = {"image": IMAGE_KINDS, "video": VIDEO_KINDS, "audio": AUDIO_KINDS}


def _kind(extension: str) -> str:
    return "jpeg" if extension == "jpg" else extension


_KIND_BY_MIME = {mime: _kind(ext) for ext, mime in MIME_TYPES.items()}


def mime_type(kind: str) -> str:
    """The MIME type of a kind or extension; ``application/octet-stream`` for anything unknown."""
    return MIME_TYPES.get(kind, OCTET_STREAM)


def suffix(kind: str) -> str:
    """The file extension a kind is saved with (a JPEG as ``.jpg``)."""
    return ".jpg" if kind == "jpeg" else f".{kind}"


def media_type(content_type: str | None) -> str | None:
    """``image/png`` from ``image/PNG; charset=x``; None when there is no type."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def kind_of_media_type(content_type: str | None) -> str | None:
    """The kind a Content-Type names, or None when it names none we know."""
    return _KIND_BY_MIME.get(media_type(content_type) or "")


def expected_kinds(expected: Collection[str] | None) -> frozenset[str] | None:
    """Kinds (``png``, ``jpg``...) and groups (``image``, ``video``, ``audio``) as one set of kinds."""
    if expected is None:
        return None
    kinds: set[str] = set()
    for name in expected:
        key = name.lower().lstrip(".")
        kinds |= _GROUPS.get(key, {_kind(key)})
    return frozenset(kinds)


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


__all__ = [
    "AUDIO_KINDS",
    "IMAGE_KINDS",
    "MIME_TYPES",
    "OCTET_STREAM",
    "SNIFF_BYTES",
    "VIDEO_KINDS",
    "expected_kinds",
    "kind_of_media_type",
    "media_type",
    "mime_type",
    "sniff",
    "suffix",
]
