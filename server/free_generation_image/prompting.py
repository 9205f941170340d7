"""Pure helpers for what we send to the agent: the explicit instruction, language, kind, cost guess.

Image first: a prompt that names no kind makes an image (this is free-generation-*image*, and a
video costs about three times as much); ``kind="video"`` or a prompt asking for a video makes a video.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Kind = Literal["auto", "image", "video"]
AspectRatio = Literal["16:9", "9:16", "1:1", "4:3", "3:4"]

# Credits (contract §9: ≈100 per generated clip, ≈50 per edit; image price unknown -> GUESS 30).
# One generation makes one clip whatever duration was asked for (a longer request is cut, not billed twice).
VIDEO_CLIP_COST = 100
IMAGE_COST = 30  # GUESS: no public source prices a still; budget.CostBook learns the real price.
EDIT_COST = 50

_IMAGE_WORDS = re.compile(
    r"\b(image|images|picture|pic|photo|photograph|poster|illustration|drawing|painting|still|wallpaper|"
    r"logo|icon|portrait|artwork|sketch)\b|图片|图像|照片|海报|插画|插图|画一|画个|画张|壁纸|头像",
    re.IGNORECASE,
)
_VIDEO_WORDS = re.compile(
    r"\b(video|videos|clip|clips|animation|animated|animate|movie|film|footage|trailer|reel)\b|视频|短片|动画|影片",
    re.IGNORECASE,
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def infer_kind(prompt: str) -> Literal["image", "video"] | None:
    """What the prompt asks for, when it says so; None when it does not."""
    text = unicodedata.normalize("NFKC", prompt)
    wants_video = bool(_VIDEO_WORDS.search(text))
    wants_image = bool(_IMAGE_WORDS.search(text))
    if wants_video and not wants_image:
        return "video"
    if wants_image and not wants_video:
        return "image"
    return None


def resolve_kind(prompt: str, kind: Kind = "auto") -> Literal["image", "video"]:
    """What a generation will make: the explicit kind, else what the prompt names, else an image."""
    if kind != "auto":
        return kind
    return infer_kind(prompt) or "image"


def detect_language(prompt: str, configured: str | None) -> str:
    """NEMO_LANGUAGE wins; else a prompt written in CJK script means ``zh``; else ``en``."""
    if configured:
        return configured
    return "zh" if _CJK.search(prompt) else "en"


def compose_message(
    prompt: str,
    *,
    kind: Kind = "auto",
    aspect_ratio: AspectRatio | None = None,
    duration_s: float | None = None,
) -> str:
    """The user's prompt plus an explicit instruction, so the agent does not have to guess."""
    resolved = resolve_kind(prompt, kind)
    parts: list[str] = []
    if resolved == "image" and (kind == "image" or infer_kind(prompt) is None):
        parts.append("Generate a still image (not a video)")
    elif kind == "video":
        parts.append("Generate a video clip")
    if aspect_ratio:
        parts.append(f"aspect ratio {aspect_ratio}")
    if duration_s is not None and resolved == "video":
        parts.append(f"duration {duration_s:g} seconds")
    if not parts:
        return prompt
    return f"{prompt}\n\n[Request: {', '.join(parts)}.]"


def estimate_cost(prompt: str, *, kind: Kind = "auto") -> int:
    """A guess of the credits a generation takes, before any real charge was seen (it never blocks)."""
    return IMAGE_COST if resolve_kind(prompt, kind) == "image" else VIDEO_CLIP_COST


def prompt_key(prompt: str) -> str:
    """Normalised prompt used to recognise a host's retry of the same call."""
    return " ".join(unicodedata.normalize("NFKC", prompt).casefold().split())
