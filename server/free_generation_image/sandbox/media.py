"""Real media with Pillow and the standard library: prompt images, composition stills, BGM tones.

Everything is deterministic: the same prompt and size give the same bytes, so tests can compare
and content-addressed file names dedupe work under load.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import wave
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont, ImageOps

from free_generation_image.sandbox.compose import Caption, Composition

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
# Tried in order for CJK text; Pillow's bundled font (Latin only) is the fallback.
_CJK_FONTS = (
    "NotoSansCJK-Regular.ttc",
    "NotoSansSC-Regular.otf",
    "wqy-microhei.ttc",
    "DroidSansFallbackFull.ttf",
)


def _seed(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


@lru_cache(maxsize=32)
def font(size: int, cjk: bool = False) -> Font:
    """A TrueType font of ``size`` px; a CJK-capable one when asked and installed."""
    for name in _CJK_FONTS if cjk else ():
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _has_cjk(text: str) -> bool:
    return any("\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in text)


def prompt_image(prompt: str, width: int, height: int) -> Image.Image:
    """A gradient seeded by the prompt's hash, a few soft shapes, and the prompt written on it."""
    seed = _seed(prompt)
    start, end = tuple(seed[0:3]), tuple(seed[3:6])
    # A gradient square big enough that any rotation still covers the centred canvas.
    side = math.ceil(math.hypot(width, height)) + 2
    square = (
        Image.linear_gradient("L").resize((side, side)).rotate(seed[6] / 255 * 360, Image.Resampling.BILINEAR)
    )
    left, top = (side - width) // 2, (side - height) // 2
    mask = square.crop((left, top, left + width, top + height))
    img = Image.composite(
        Image.new("RGB", (width, height), start), Image.new("RGB", (width, height), end), mask
    )
    shapes = Image.new("RGBA", (width, height))
    pen = ImageDraw.Draw(shapes)
    for i in range(4):
        cx, cy = seed[7 + i] / 255 * width, seed[11 + i] / 255 * height
        radius = (0.08 + seed[15 + i] / 255 * 0.22) * min(width, height)
        pen.ellipse(
            (cx - radius, cy - radius, cx + radius, cy + radius), fill=(*seed[19 + i * 3 : 22 + i * 3], 90)
        )
    img.paste(shapes, (0, 0), shapes)
    draw_text(img, prompt, color=(255, 255, 255), center_y=0.5, size_ratio=1 / 16)
    return img


def draw_text(
    img: Image.Image, text: str, *, color: tuple[int, int, int], center_y: float, size_ratio: float
) -> None:
    """Write ``text`` centred (wrapped to 85 % of the width, at most 4 lines) with a drop shadow."""
    size = max(10, int(min(img.width, img.height) * size_ratio * (16 / 9 if img.width >= img.height else 1)))
    face = font(size, _has_cjk(text))
    lines = _wrap(text, face, img.width * 0.85)[:4]
    pen = ImageDraw.Draw(img)
    line_height = int(size * 1.25)
    top = int(img.height * center_y - line_height * len(lines) / 2)
    shadow = max(1, size // 14)
    for i, line in enumerate(lines):
        x = (img.width - face.getlength(line)) / 2
        y = top + i * line_height
        pen.text((x + shadow, y + shadow), line, font=face, fill=(0, 0, 0))
        pen.text((x, y), line, font=face, fill=color)


def _wrap(text: str, face: Font, max_width: float) -> list[str]:
    tokens = list(text) if _has_cjk(text) else text.split()
    joiner = "" if _has_cjk(text) else " "
    lines: list[str] = []
    current = ""
    for token in tokens:
        candidate = f"{current}{joiner}{token}" if current else token
        if current and face.getlength(candidate) > max_width:
            lines.append(current)
            current = token
        else:
            current = candidate
    return [*lines, current] if current else lines


def png_bytes(img: Image.Image) -> bytes:
    """Encode as PNG."""
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue()


def placeholder(label: str, width: int, height: int) -> Image.Image:
    """What a render shows for a source it cannot read (e.g. an external URL)."""
    img = Image.new("RGB", (width, height), (40, 40, 48))
    draw_text(img, label or "media", color=(200, 200, 210), center_y=0.5, size_ratio=1 / 20)
    return img


def cover(img: Image.Image, width: int, height: int) -> Image.Image:
    """``img`` scaled and centre-cropped to fill ``width`` x ``height`` (itself when it already does)."""
    if img.size == (width, height) and img.mode == "RGB":
        return img
    return ImageOps.fit(img.convert("RGB"), (width, height))


def paint(comp: Composition, ms: int, sources: dict[str, Image.Image]) -> Image.Image:
    """The composition's frame at ``ms``: the topmost picture, then the captions (sources stay untouched)."""
    layer = comp.layer_at(ms)
    captions = comp.captions_at(ms)
    if layer is None:
        return _captioned(Image.new("RGB", (comp.width, comp.height)), captions)
    picture = sources.get(layer.src) or placeholder(layer.label or layer.src, comp.width, comp.height)
    frame = cover(picture, comp.width, comp.height)
    return _captioned(frame.copy() if captions and frame is picture else frame, captions)


def _captioned(frame: Image.Image, captions: list[Caption]) -> Image.Image:
    for caption in captions:
        draw_text(frame, caption.text, color=caption.color, center_y=0.8, size_ratio=1 / 12)
    return frame


def tone_wav(seed_text: str, seconds: float, *, rate: int = 8000) -> bytes:
    """A quiet, deterministic arpeggio (mono 16-bit WAV) standing in for generated background music."""
    seed = _seed(seed_text)
    root = 220.0 * 2 ** (seed[0] % 12 / 12)
    note_samples = rate // 2  # four half-second notes: the pattern loops every two seconds
    pattern = bytearray()
    for step in (0, 4, 7, 12):
        pitch = root * 2 ** (step / 12)
        for i in range(note_samples):
            envelope = 1 - 0.7 * i / note_samples
            pattern += struct.pack("<h", int(6000 * envelope * math.sin(2 * math.pi * pitch * i / rate)))
    total = int(seconds * rate) * 2
    frames = (bytes(pattern) * (total // len(pattern) + 1))[:total]
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return out.getvalue()


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of an image Pillow can read, else None."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def open_image(data: bytes) -> Image.Image | None:
    """Decode an image fully, or None."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def wav_seconds(data: bytes) -> float | None:
    """Duration of a WAV file, else None."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            frames: int = wav.getnframes()
            return frames / float(wav.getframerate())
    except (wave.Error, EOFError, ValueError):
        return None
