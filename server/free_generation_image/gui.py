"""Pure: the backend agent's "GUI talk" rewritten for a chat user, plus the actions it implies.

The backend agent believes the user sits in front of NemoVideo's editor (contract §3): it says
"click Export", "open the timeline panel", "drag the file onto the timeline", 点击导出按钮. In a chat
those are dead ends. Each phrase becomes what the user can say instead, and an action:

- read-only looks (timeline, preview) are ``immediate``: the service shows them at once;
- long or spending steps (export, regenerate) are offered as next steps, never run silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ActionOp = Literal["status", "export", "generate"]


@dataclass(frozen=True)
class SuggestedAction:
    """A next step implied by the agent's reply. ``immediate`` ones are safe to run without asking."""

    op: ActionOp
    label: str
    immediate: bool


@dataclass(frozen=True)
class GuiTranslation:
    """The reply rewritten for chat, and the actions it implies (in order of first mention, no repeats)."""

    text: str
    actions: tuple[SuggestedAction, ...] = ()


# One label per operation, whatever the reply's language, so callers can de-duplicate suggestions.
EXPORT = SuggestedAction("export", "Export it as MP4 (free)", immediate=False)
SHOW = SuggestedAction("status", "Show the timeline", immediate=True)
REGENERATE = SuggestedAction("generate", "Regenerate (uses credits)", immediate=False)


@dataclass(frozen=True)
class _Rule:
    pattern: str
    text: str
    action: SuggestedAction | None


# English pieces. Quotes around a button name may be straight, curly or absent.
_Q = r"[\"'“”‘’]?"
_THE = r"(?:the\s+)?"
_WHERE = (
    r"(?:\s+(?:in|at|on|from|under)\s+(?:the\s+)?(?:(?:top|bottom|upper|lower|left|right)[\s-]*){0,3}"
    r"(?:corner|side|panel|toolbar|menu|bar|area|header|sidebar|pane|of\s+the\s+(?:screen|page|editor|window))"
    r"(?:\s+of\s+the\s+(?:screen|page|editor|window))?)?"
)
_CLICK = r"\b(?:click(?:ing)?|tap(?:ping)?|press(?:ing)?|hit(?:ting)?|select(?:ing)?|choose|use)\s+(?:on\s+)?"
_BUTTON = r"(?:\s+(?:button|icon|option|menu(?:\s+item)?|tab))?"
_GET_PURPOSE = (  # "… to download your video": the replacement already says it
    r"(?:\s+(?:to|and)\s+(?:download|export|save|render|get)"
    r"(?:\s+(?:your|the|it|this)(?:\s+(?:final\s+)?(?:video|file|result|project|image|clip|work))?)?)?"
)
_SEE_PURPOSE = (  # "… to see the tracks"
    r"(?:\s+(?:to|and)\s+(?:see|view|check|preview|review|inspect)"
    r"(?:\s+(?:the|your|all|its|every))?(?:\s+(?:tracks?|timeline|result|changes?|video|clips?|layers?|edits?))?)?"
)
_PANEL = r"(?:\s*(?:panel|pane|window|tab|view|library|menu))?"
_OR_UPLOAD = r"(?:,?\s+or\s+(?:click|tap|use)\s+(?:the\s+)?[\"'“”]?upload[\"'“”]?(?:\s+button)?)?"
_SETTINGS = (
    r"\bopen\s+(?:the\s+)?(?:settings|properties|inspector|style|text)\s*(?:panel|pane|window|tab|menu)"
)

# Chinese pieces.
_ZH_YOU_CAN = r"(?:请|(?:你|您)?也?可以)?"
_ZH_CLICK = _ZH_YOU_CAN + r"(?:点击|单击|点一下|点|按下|按|选择|使用)\s*"
_ZH_WHERE = r"(?:[\u4e00-\u9fff]{0,6}的)?"  # 右上角的 / 页面顶部的
_ZH_Q = r"[「“\"'『]?"
_ZH_Q_END = r"[」”\"'』]?"
_ZH_REST = r"[^，。！？；,.!?;\n]{0,12}"  # the rest of the clause ("…预览效果"): leave no half sentence
_ZH_OR_UPLOAD = r"(?:[，,]?(?:或|或者)(?:点击|点)?[「“]?上传[」”]?(?:按钮)?)?"

_EXPORT_EN = 'say "export" and I will render and download it'
_EXPORT_ZH = "说“导出”，我会帮你渲染并下载到本地"
_SHOW_EN = "see the timeline summary below"
_SHOW_ZH = "时间线摘要见下方"
_UPLOAD_EN = 'send me the file path or URL (say "upload <path>")'
_UPLOAD_ZH = "把文件路径或链接发给我（说“上传 <路径>”）"
_REGEN_EN = 'say "regenerate" and I will make a new version (this uses credits)'
_REGEN_ZH = "说“重新生成”，我会重新生成一个版本（会消耗积分）"

# Order matters only between rules that can match at the same position: the longer one first.
_RULES: tuple[_Rule, ...] = (
    # Export / download buttons and menus.
    _Rule(
        rf"{_CLICK}{_THE}{_Q}(?:export|download|render)(?:\s+video)?{_Q}{_BUTTON}{_WHERE}{_GET_PURPOSE}",
        _EXPORT_EN,
        EXPORT,
    ),
    _Rule(r"\bgo\s+to\s+(?:file\s*(?:>|→|->)\s*)?export\b" + _GET_PURPOSE, _EXPORT_EN, EXPORT),
    _Rule(
        rf"{_ZH_CLICK}{_ZH_WHERE}{_ZH_Q}(?:导出|下载){_ZH_Q_END}(?:按钮|图标|选项|菜单)?"
        r"(?:(?:即可|就可以|来|以)(?:导出|下载|保存)(?:视频|文件|作品)?)?",
        _EXPORT_ZH,
        EXPORT,
    ),
    # Regenerate / generate buttons.
    _Rule(
        rf"{_CLICK}{_THE}{_Q}(?:re-?generate|generate|try\s+again|retry){_Q}{_BUTTON}{_WHERE}",
        _REGEN_EN,
        REGENERATE,
    ),
    _Rule(rf"{_ZH_CLICK}{_ZH_WHERE}{_ZH_Q}(?:重新生成|生成|重试){_ZH_Q_END}(?:按钮)?", _REGEN_ZH, REGENERATE),
    # Upload by dragging or with an upload button: in a chat the user gives a path or URL instead.
    _Rule(
        r"\b(?:drag(?:ging)?(?:\s+and\s+drop(?:ping)?)?|drop(?:ping)?)"
        r"(?:\s+(?:your|the|a|any|it|them|this|that)){0,2}"
        r"(?:\s+(?:files?|videos?|clips?|images?|media|footage|photos?|music|audio|assets?))?"
        r"\s+(?:in)?(?:to|onto|on|into)\s+(?:the\s+)?"
        r"(?:timeline|canvas|editor|upload\s+area|media\s+(?:library|panel)|window|page|track|workspace)"
        + _OR_UPLOAD,
        _UPLOAD_EN,
        None,
    ),
    _Rule(
        rf"{_CLICK}{_THE}{_Q}(?:upload|import|add\s+media){_Q}{_BUTTON}{_WHERE}"
        r"(?:\s+to\s+(?:add|upload|import)\s+(?:your\s+)?(?:files?|videos?|media|images?|footage))?",
        _UPLOAD_EN,
        None,
    ),
    _Rule(
        r"(?:把|将)?(?:文件|视频|素材|图片|音乐)?\s*(?:拖拽|拖动|拖入|拖放|拖)\s*(?:到|进|至)?\s*"
        r"(?:时间线|时间轴|画布|编辑器|上传区域?|素材库|轨道)(?:中|里|上)?" + _ZH_OR_UPLOAD,
        _UPLOAD_ZH,
        None,
    ),
    _Rule(rf"{_ZH_CLICK}{_ZH_WHERE}{_ZH_Q}上传{_ZH_Q_END}(?:按钮)?", _UPLOAD_ZH, None),
    # Settings / properties panels: nothing to open in a chat, just say what to change.
    _Rule(_SETTINGS + r"\s+(?:and|to)\s+", "just tell me how you want to ", None),
    _Rule(_SETTINGS, "tell me what to change", None),
    _Rule(r"(?:打开|展开)\s*(?:设置|属性|样式)\s*(?:面板|窗口|菜单)?" + _ZH_REST, "告诉我要改什么", None),
    # Looking at the result: read-only, shown right away.
    _Rule(
        r"\b(?:preview|view|check|see|review|watch|play)"
        r"(?:\s+(?:it|them|this|that|the\s+(?:result|video|clip|changes?|edits?)"
        r"|your\s+(?:video|result|clip|changes?)))?"
        r"\s+(?:in|on|using)\s+(?:the\s+)?(?:timeline|preview|player|editor|canvas)" + _PANEL + _SEE_PURPOSE,
        _SHOW_EN,
        SHOW,
    ),
    _Rule(
        r"\bopen\s+(?:the\s+)?(?:timeline|tracks?|preview|layers?|editor|media|assets?)"
        + _PANEL
        + _SEE_PURPOSE,
        _SHOW_EN,
        SHOW,
    ),
    _Rule(
        rf"{_CLICK}{_THE}{_Q}(?:play|preview){_Q}{_BUTTON}"
        r"(?:\s+to\s+(?:preview|watch|see|view)(?:\s+(?:it|the\s+result|your\s+video))?)?",
        _SHOW_EN,
        SHOW,
    ),
    _Rule(
        _ZH_YOU_CAN + r"(?:在|到)?\s*(?:时间线|时间轴|预览(?:窗口|面板|区)?|播放器)\s*(?:中|里|上)?\s*"
        r"(?:预览|查看|看看|播放)" + _ZH_REST,
        _SHOW_ZH,
        SHOW,
    ),
    _Rule(
        _ZH_YOU_CAN + r"(?:打开|展开)\s*(?:时间线|时间轴|轨道|预览|图层)\s*(?:面板|窗口|视图)?" + _ZH_REST,
        _SHOW_ZH,
        SHOW,
    ),
    _Rule(rf"{_ZH_CLICK}{_ZH_Q}(?:播放|预览){_ZH_Q_END}(?:按钮)?" + _ZH_REST, _SHOW_ZH, SHOW),
)

_SENTENCE_START = re.compile(r"(?:^|[.!?。！？]\s*|\n\s*)$")


# One pass over the text with every rule as an alternative: matches come out in text order and a
# replacement is never matched again by a later rule.
_ANY_RULE = re.compile("|".join(f"(?P<r{i}>{rule.pattern})" for i, rule in enumerate(_RULES)), re.IGNORECASE)


def translate(text: str) -> GuiTranslation:
    """Rewrite GUI instructions for a chat user; collect the actions they imply."""
    actions: list[SuggestedAction] = []

    def replace(match: re.Match[str]) -> str:
        rule = _RULES[int((match.lastgroup or "r0")[1:])]
        if rule.action is not None and all(a.op != rule.action.op for a in actions):
            actions.append(rule.action)
        new = rule.text
        # Keep the sentence well-formed: "Click Export…" -> "Say "export"…".
        if new[:1].isascii() and _SENTENCE_START.search(text[: match.start()]):
            new = new[:1].upper() + new[1:]
        return new

    return GuiTranslation(text=_ANY_RULE.sub(replace, text), actions=tuple(actions))


_TEMPORARY = re.compile(
    r"\b(?:encountered|ran\s+into|hit|experienced|having|had)\s+(?:a\s+)?temporary\s+(?:issue|problem|error|glitch)"
    r"|\btemporary\s+(?:issue|problem|error)\b"
    r"|(?:遇到|出现|发生)了?(?:一个|一些)?(?:临时|暂时性?的?)(?:问题|错误|故障)",
    re.IGNORECASE,
)
_NOTICE_MAX = 300  # a longer message that mentions a temporary issue is a real answer, not the notice


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def _is_notice(text: str) -> bool:
    """A short, single-paragraph "temporary issue" message."""
    stripped = text.strip()
    return (
        bool(stripped)
        and len(stripped) <= _NOTICE_MAX
        and not _PARAGRAPH_BREAK.search(stripped)
        and bool(_TEMPORARY.search(stripped))
    )


def strip_temporary_issue(texts: list[str]) -> list[str]:
    """Drop trailing "I encountered a temporary issue…" notices when earlier output was normal (§3 step 6)."""
    end = len(texts)
    while end and (not texts[end - 1].strip() or _is_notice(texts[end - 1])):
        end -= 1
    if end == 0:
        return list(texts)  # the notice is all we got: it is the real outcome
    out = list(texts[:end]) if any(_is_notice(t) for t in texts[end:]) else list(texts)
    # The notice can also be the last paragraph of an otherwise normal message.
    paragraphs = _PARAGRAPH_BREAK.split(out[-1].strip())
    if len(paragraphs) > 1 and _is_notice(paragraphs[-1]):
        out[-1] = "\n\n".join(paragraphs[:-1])
    return out


__all__ = [
    "EXPORT",
    "REGENERATE",
    "SHOW",
    "ActionOp",
    "GuiTranslation",
    "SuggestedAction",
    "strip_temporary_issue",
    "translate",
]
