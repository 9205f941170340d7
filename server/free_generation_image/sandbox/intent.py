"""Pure: what a user message asks the backend agent for, read the way a real agent would (EN/ZH).

The client adds an explicit instruction ("Generate one 9:16 image ...") to the user's prompt, but the
sandbox must not depend on its exact wording, so everything here works on natural text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

TurnKind = Literal["image", "video", "edit"]
EditOp = Literal[
    "add_music", "remove_music", "music_louder", "music_quieter", "title_color", "title_text", "effect"
]

ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4")
DEFAULT_RATIO = "16:9"
DEFAULT_DURATION_S = 5.0
MIN_DURATION_S, MAX_DURATION_S = 1.0, 15.0

_RATIO_RE = re.compile(r"(?<![\d.])(16|9|1|4|3)\s*[:：]\s*(9|16|1|3|4)(?!\d|\.\d)")  # "9:16." ends a sentence
_DURATION_RE = re.compile(r"(?<![\d.:：])(\d+(?:\.\d+)?)[\s-]*(?:(?:seconds?|secs?|s)\b|秒)", re.IGNORECASE)
_IMAGE_RE = re.compile(
    r"\b(?:images?|pictures?|photos?|photographs?|posters?|illustrations?|drawings?|stills?)\b"
    r"|图片|图像|照片|海报|插画|(?<!动)画(?!面)",
    re.IGNORECASE,
)
_VIDEO_RE = re.compile(r"\b(?:videos?|clips?|animations?|animated)\b|视频|短片|动画", re.IGNORECASE)
_NEGATION_RE = re.compile(
    r"(?:\b(?:not|no|never|without|instead\s+of|rather\s+than)\b(?:\s+(?:a|an|the|any|one))?\s*"
    r"|(?:不要|不是|别|而非|而不是)\s*(?:一张|一段|一个|一部)?)$",
    re.IGNORECASE,
)
_GENERATE_RE = re.compile(
    r"\b(?:generate|create|draw|paint|produce|imagine|render)\b"
    r"|\bmake\s+(?:me\s+|us\s+)?(?:a|an|another|one|some|\d+)\b"
    r"|生成|画一|做一|制作|创作|来一|来个",
    re.IGNORECASE,
)
_EDIT_RE = re.compile(
    r"\b(?:add|remove|delete|change|set|replace|put|turn|mute|louder|quieter|brighter|darker|faster|slower"
    r"|make\s+the|make\s+it|title|music|bgm|soundtrack|volume|colou?r|font|caption|subtitle|trim|cut)\b"
    r"|加|添加|去掉|删除|移除|改|换|调|设置|标题|字幕|音乐|配乐|音量|颜色|变",
    re.IGNORECASE,
)

_MEDIA_WORDS = (
    r"(?:images?|pictures?|photos?|posters?|illustrations?|drawings?|stills?|videos?|clips?|animations?)"
)
_LEAD_RE = re.compile(
    r"^(?:please\s+)?(?:generate|create|make|draw|paint|produce|render)\s+(?:me\s+)?(?:(?:a|an|one)\s+)?"
    rf"(?:[\w:.-]+\s+){{0,4}}?{_MEDIA_WORDS}\s+(?:of|showing|with|about|featuring)\s+"
    r"|^请?(?:生成|制作|画|做|创作)(?:一[张段个部幅])?[^，,。：:]{0,8}?(?:图片|图像|照片|海报|插画|视频|短片|动画)[，,：:\s]*",
    re.IGNORECASE,
)
_MUSIC = r"(?:music|bgm|soundtrack|song)"
_EDIT_RULES: tuple[tuple[EditOp, re.Pattern[str]], ...] = (
    (
        "remove_music",
        re.compile(
            rf"\b(?:remove|delete|drop|mute|no)\b[^.]*\b{_MUSIC}\b"
            r"|(?:去掉|删除|移除|不要)[^。]*(?:音乐|配乐)",
            re.IGNORECASE,
        ),
    ),
    (
        "music_louder",
        re.compile(
            rf"\b(?:louder|raise|increase)\b[^.]*\b{_MUSIC}|{_MUSIC}\b[^.]*\blouder\b"
            r"|(?:音乐|配乐|音量)[^。]*(?:大|高)",
            re.IGNORECASE,
        ),
    ),
    (
        "music_quieter",
        re.compile(
            rf"\b(?:quieter|softer|lower|decrease)\b[^.]*\b{_MUSIC}"
            rf"|{_MUSIC}\b[^.]*\b(?:quieter|softer)\b|(?:音乐|配乐|音量)[^。]*(?:小|低)",
            re.IGNORECASE,
        ),
    ),
    ("add_music", re.compile(rf"\b{_MUSIC}\b|音乐|配乐", re.IGNORECASE)),
    ("title_text", re.compile(r"(?:title|标题)[^\"'“‘「]*[\"'“‘「]([^\"'”’」]+)[\"'”’」]", re.IGNORECASE)),
    (
        "title_color",
        re.compile(
            r"(?:title|text|标题|字幕)[^.。]*?(red|blue|green|yellow|white|black|orange"
            r"|purple|pink|gold|红|蓝|绿|黄|白|黑|橙|紫|粉|金)",
            re.IGNORECASE,
        ),
    ),
)
_ZH_COLORS = {
    "红": "red",
    "蓝": "blue",
    "绿": "green",
    "黄": "yellow",
    "白": "white",
    "黑": "black",
    "橙": "orange",
    "紫": "purple",
    "粉": "pink",
    "金": "gold",
}


@dataclass(frozen=True)
class Edit:
    """One change an edit turn makes to the draft."""

    op: EditOp
    value: str = ""


@dataclass(frozen=True)
class Intent:
    """What one message asks for."""

    kind: TurnKind
    aspect_ratio: str
    duration_s: float
    subject: str  # the prompt without aspect/duration/instruction noise
    title: str
    edits: tuple[Edit, ...] = ()


def read_intent(text: str, *, has_draft: bool) -> Intent:
    """Classify ``text``: an edit (only when a draft exists), else an image or video generation."""
    ratio = aspect_ratio(text)
    duration = duration_s(text)
    subject = subject_of(text)
    title = title_of(subject)
    if has_draft and is_edit(text):
        return Intent("edit", ratio, duration, subject, title, read_edits(text))
    return Intent(media_kind(text), ratio, duration, subject, title)


def aspect_ratio(text: str) -> str:
    """The first supported aspect ratio written in ``text`` (full-width colon too), else 16:9."""
    for match in _RATIO_RE.finditer(text):
        ratio = f"{match.group(1)}:{match.group(2)}"
        if ratio in ASPECT_RATIOS:
            return ratio
    return DEFAULT_RATIO


def duration_s(text: str) -> float:
    """The first duration in seconds written in ``text``, clamped to 1-15 s; 5 s when none."""
    match = _DURATION_RE.search(text)
    if not match:
        return DEFAULT_DURATION_S
    return min(MAX_DURATION_S, max(MIN_DURATION_S, float(match.group(1))))


def media_kind(text: str) -> Literal["image", "video"]:
    """Image or video, from the first media word that is not negated ("an image, not a video")."""

    def first(pattern: re.Pattern[str]) -> int:
        return next(
            (
                m.start()
                for m in pattern.finditer(text)
                if not _NEGATION_RE.search(text[max(0, m.start() - 24) : m.start()])
            ),
            len(text) + 1,
        )

    return "image" if first(_IMAGE_RE) < first(_VIDEO_RE) else "video"


def is_edit(text: str) -> bool:
    """True for a change to the existing timeline ("add music", "make the title red", "加音乐")."""
    return bool(_EDIT_RE.search(text)) and not _GENERATE_RE.search(text)


def read_edits(text: str) -> tuple[Edit, ...]:
    """The draft changes an edit message asks for; unknown requests become one generic effect."""
    edits: list[Edit] = []
    for op, pattern in _EDIT_RULES:
        match = pattern.search(text)
        if not match:
            continue
        if op == "add_music" and any(e.op.endswith("music") or e.op.startswith("music") for e in edits):
            continue
        value = match.group(1).strip() if pattern.groups else ""
        edits.append(Edit(op, _ZH_COLORS.get(value, value.lower()) if op == "title_color" else value))
    return tuple(edits) or (Edit("effect", _clip(" ".join(text.split()), 60)),)


_BRACKETED_LINE_RE = re.compile(r"(?m)^\s*\[[^\]\n]*\]\s*$")


def subject_of(text: str) -> str:
    """The prompt itself: without an instruction prefix ("Generate a video of", "...:") or
    ratio/duration words; the longest of these that still says something. A line that is a bracketed
    note (a client's "[Request: …]" instruction) is read as settings, not as the subject."""
    body = " ".join(_BRACKETED_LINE_RE.sub(" ", text).split()) or " ".join(text.split())
    candidates = [body]
    colon = re.search(r"(?<!\d)\s*[:：]\s*(?!\d)", body)
    if colon:
        body = body[colon.end() :]
        candidates.append(body)
    lead = _LEAD_RE.match(body)
    if lead:
        candidates.append(body[lead.end() :])
    cleaned = (_without_settings(c) for c in reversed(candidates))
    return _clip(next((c for c in cleaned if c), "Untitled"), 200)


def _without_settings(text: str) -> str:
    text = _DURATION_RE.sub(" ", _RATIO_RE.sub(" ", text))
    text = re.sub(r"[(（\[]\s*[,，、;；\s]*[)）\]]", " ", text)
    return " ".join(text.split()).strip(" .,;:!?-—–。，；：！？、")


def title_of(subject: str) -> str:
    """A short title: the first six words (or twelve CJK characters) of the subject."""
    if re.search(r"[\u3400-\u9fff]", subject):
        title = _clip(re.sub(r"\s+", "", subject), 12)
    else:
        title = _clip(" ".join(subject.split()[:6]), 48)
    return title[:1].upper() + title[1:]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
