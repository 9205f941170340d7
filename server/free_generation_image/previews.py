"""Previews of saved media: a small inline image (thumbnail or a video's poster frame), or why there is none.

Blocking (decoding with Pillow and PyAV): call these from a worker thread in async code.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from free_generation_image import videolib
from free_generation_image.mediatypes import IMAGE_KINDS, SNIFF_BYTES, VIDEO_KINDS, sniff

log = logging.getLogger(__name__)


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


__all__ = ["NoPreview", "Preview", "make_preview", "try_preview"]
