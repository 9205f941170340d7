"""Pure: the backend agent's "GUI talk" rewritten for a chat user, plus the actions it implies.

The backend agent believes the user sits in front of NemoVideo's editor (contract §3): it says
"click Export", "open the timeline panel", "drag the file onto the timeline", 点击导出按钮. In a chat
those are dead ends. Each phrase becomes what the user can say instead, and an action:

- read-only looks (timeline, preview) are ``immediate``: the service shows them at once;
- long or spending steps (export, regenerate) are offered as next steps, never run silently.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
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
    en: str
    zh: str
    action: SuggestedAction | None


# Every slot of a rule accepts both languages, because the backend mixes them within one sentence ("You
# can also 打开 the timeline panel", "点击 Export 按钮"). Each rule follows one sentence order (English:
# verb, object, place, purpose; Chinese: place before the object, purpose glued on), so some rules come in
# two orders; where several match at one position the longest wins.

# Quotes around a button name may be straight, curly, corner brackets or absent.
_Q = r"[\"'“”‘’「『]?"
_Q_END = r"[\"'“”‘’」』]?"
_THE = r"(?:the\s+)?"
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_ZH_YOU_CAN = r"(?:(?:请|(?:你|您)?也?可以)\s*)?"
# 点 alone is a verb only where it is not part of a word (一点, 有点, 重点); 选择/使用/按 ("choose", "use",
# "by") only before a quoted name or a button word (选择导出格式 is "choose the export format").
_CLICK = (
    _ZH_YOU_CAN + r"(?:\b(?:click(?:ing)?|tap(?:ping)?|press(?:ing)?|hit(?:ting)?|select(?:ing)?|choose|use)"
    r"\s+(?:on\s+)?|(?:点击|单击|点一下|按下|(?<![一有重优缺特地观终起焦要亮差])点"
    r"|(?:选择|使用|按)(?=\s*(?:[「『“\"']|[^，。！？；,.!?;\s]{1,8}?(?:按钮|图标|选项|菜单|button))))\s*)"
)
_ZH_WHERE = rf"(?:[{_CJK}]{{0,6}}的\s*)?"  # 右上角的 / 页面顶部的
_AT_PLACE = (  # "in the top right corner"
    r"(?:in|at|on|from|under)\s+(?:the\s+)?(?:(?:top|bottom|upper|lower|left|right)[\s-]*){0,3}"
    r"(?:corner|side|panel|toolbar|menu|bar|area|header|sidebar|pane|of\s+the\s+(?:screen|page|editor|window))"
    r"(?:\s+of\s+the\s+(?:screen|page|editor|window))?"
)
_WHERE = rf"(?:\s+{_AT_PLACE}|\s*(?:在|位于)[{_CJK}]{{0,8}})?"
_BUTTON = r"(?:\s+(?:button|icon|option|menu(?:\s+item)?|tab)|\s*(?:按钮|图标|选项|菜单))?"
# A character of the rest of a Chinese clause ("…预览效果"): never English, never past a closing bracket.
_CLAUSE = r"[^，。！？；,.!?;\n）)」』”\"A-Za-z]"
_ZH_REST = _CLAUSE + "{0,12}"
_GET_PURPOSE = (  # "… to download your video" / "…即可下载视频": the replacement already says it
    r"(?:\s+(?:to|and)\s+(?:download|export|save|render|get)"
    r"(?:\s+(?:your|the|it|this)(?:\s+(?:final\s+)?(?:video|file|result|project|image|clip|work))?)?"
    r"|\s*(?:(?:即可|就可以|就能|就行)(?:导出|下载|保存)?|(?:来|以|可以)?(?:导出|下载|保存))"
    r"(?:视频|文件|作品|到本地|成品)?)?"
)
_SEE_PURPOSE = (  # "… to see the tracks" / "…查看效果"
    r"(?:\s+(?:to|and)\s+(?:see|view|check|preview|review|inspect|watch)"
    r"(?:\s+(?:it|them|the|your|all|its|every))?(?:\s+(?:tracks?|timeline|result|changes?|video|clips?|layers?|edits?))?"
    r"|\s*(?:来|以)?(?:查看|预览|看看|播放|看)" + _CLAUSE + "{0,10})?"
)
_PANEL = r"(?:\s*(?:panel|pane|window|tab|view|library|menu|面板|窗口|视图|菜单|区域?))?"
_OPEN = _ZH_YOU_CAN + r"(?:\bopen\s+|打开\s*|展开\s*)"
_PLACE = r"(?:timeline|preview|player|editor|canvas|时间线|时间轴|预览(?:窗口|面板|区)?|播放器|画布|编辑器)"
_SIDE_PANEL = rf"(?:[{_CJK}]{{0,4}}(?:面板|窗口|区域)|预览区)"  # 右侧面板 / 预览区
_LOOK = r"(?:\b(?:preview|view|check|see|review|watch|play)\b|预览|查看|看看|播放)"
_OR_UPLOAD = (  # ", or click Upload" / "，或点击上传按钮"
    r"(?:[，,]?\s*(?:or|或者|或)(?:\s*(?:click|tap|use|点击|点))?\s*(?:the\s+)?"
    r"[\"'“”「]?(?:upload|上传)[\"'“”」]?(?:\s*(?:button|按钮))?)?"
)
_DRAG = r"(?:\bdrag(?:ging)?(?:\s+and\s+drop(?:ping)?)?\b|\bdrop(?:ping)?\b|拖拽|拖动|拖入|拖放|拖)"
_DROP_PLACE = (
    r"(?:timeline|canvas|editor|upload\s+area|media\s+(?:library|panel)|window|page|track|workspace"
    r"|时间线|时间轴|画布|编辑器|上传区域?|素材库|轨道)"
)
_MEDIA_ZH = r"(?:文件|视频|素材|图片|音乐)"
_SETTINGS = (
    r"(?:\bopen\s+(?:the\s+)?|打开\s*|展开\s*)(?:settings|properties|inspector|style|text|设置|属性|样式)"
)

_EXPORT = ('say "export" and I will render and download it', "说“导出”，我会帮你渲染并下载到本地")
_SHOW = ("see the timeline summary below", "时间线摘要见下方")
_UPLOAD = ('send me the file path or URL (say "upload <path>")', "把文件路径或链接发给我（说“上传 <路径>”）")
_REGEN = (
    'say "regenerate" and I will make a new version (this uses credits)',
    "说“重新生成”，我会重新生成一个版本（会消耗积分）",
)

_RULES: tuple[_Rule, ...] = (
    # Export / download buttons and menus.
    _Rule(
        rf"{_CLICK}{_THE}{_ZH_WHERE}{_Q}(?:export|download|render|导出|下载)(?:\s+video|视频)?{_Q_END}"
        rf"{_BUTTON}{_WHERE}{_GET_PURPOSE}",
        *_EXPORT,
        EXPORT,
    ),
    _Rule(r"\bgo\s+to\s+(?:file\s*(?:>|→|->)\s*)?(?:export\b|导出)" + _GET_PURPOSE, *_EXPORT, EXPORT),
    # "You'll find the Export button in the top right corner." / "导出按钮在右上角"
    _Rule(
        r"\b(?:you(?:'ll|\s+will|\s+can)\s+(?:find|see)|there(?:'s|\s+is))\s+(?:an?\s+|the\s+)?"
        rf"{_Q}(?:export|download|导出|下载){_Q_END}\s*(?:button|icon|按钮){_WHERE}{_GET_PURPOSE}",
        *_EXPORT,
        EXPORT,
    ),
    _Rule(
        rf"{_Q}(?:导出|下载|export){_Q_END}\s*(?:按钮|button)\s*(?:在|位于)[{_CJK}]{{0,8}}", *_EXPORT, EXPORT
    ),
    _Rule(
        rf"\b(?:the\s+)?{_Q}(?:export|download|导出|下载){_Q_END}\s*(?:button|icon|按钮)"
        rf"\s+(?:is|sits|can\s+be\s+found)\s+(?:located\s+)?{_AT_PLACE}{_GET_PURPOSE}",
        *_EXPORT,
        EXPORT,
    ),
    # Regenerate / generate buttons ("生成" alone is a button only when named as one: 使用生成的视频 is not).
    _Rule(
        rf"{_CLICK}{_THE}{_ZH_WHERE}{_Q}(?:re-?generate|generate|try\s+again|retry|重新生成|重试"
        rf"|生成(?=\s*(?:按钮|[」』”\"'])))"
        rf"{_Q_END}{_BUTTON}{_WHERE}"
        r"(?:\s+(?:to|and)\s+(?:try\s+again|regenerate(?:\s+it)?|(?:get|make)\s+a\s+new\s+(?:version|one))"
        rf"|\s*(?:来|以)?(?:重新生成|重试|再试一次){_CLAUSE}{{0,6}})?",
        *_REGEN,
        REGENERATE,
    ),
    # Upload by dragging or with an upload button: in a chat the user gives a path or URL instead.
    _Rule(
        rf"{_DRAG}(?:\s+(?:your|the|a|any|it|them|this|that)){{0,2}}"
        rf"(?:\s+(?:files?|videos?|clips?|images?|media|footage|photos?|music|audio|assets?)|\s*{_MEDIA_ZH})?"
        rf"(?:\s+(?:in)?(?:to|onto|on|into)\s+|\s*(?:到|进|至)\s*)(?:the\s+)?{_DROP_PLACE}(?:\s*(?:中|里|上))?"
        + _OR_UPLOAD,
        *_UPLOAD,
        None,
    ),
    _Rule(
        rf"(?:把|将)?(?:\s*(?:{_MEDIA_ZH}|(?:your\s+|the\s+)?(?:files?|videos?|clips?|media)))?\s*{_DRAG}"
        rf"(?:\s*(?:到|进|至|(?:in)?to\b|onto\b))?\s*(?:the\s+)?{_DROP_PLACE}(?:\s*(?:中|里|上))?"
        + _OR_UPLOAD,
        *_UPLOAD,
        None,
    ),
    _Rule(
        rf"{_CLICK}{_THE}{_ZH_WHERE}{_Q}(?:upload|import|add\s+media|上传|导入){_Q_END}{_BUTTON}{_WHERE}"
        r"(?:\s+to\s+(?:add|upload|import)\s+(?:your\s+)?(?:files?|videos?|media|images?|footage)"
        rf"|\s*(?:来|以)?(?:添加|上传|导入){_MEDIA_ZH}?)?",
        *_UPLOAD,
        None,
    ),
    # Settings / properties panels: nothing to open in a chat, just say what to change.
    _Rule(
        _SETTINGS + r"(?:\s*(?:panel|pane|window|tab|menu|面板|窗口|菜单))?\s+(?:and|to)\s+",
        "just tell me how you want to ",
        "直接告诉我你想怎么",
        None,
    ),
    _Rule(
        _SETTINGS + r"\s*(?:panel|pane|window|tab|menu|面板|窗口|菜单)" + _ZH_REST,
        "tell me what to change",
        "告诉我要改什么",
        None,
    ),
    _Rule(
        r"(?:打开|展开)\s*(?:设置|属性|样式|settings|properties)" + _ZH_REST,
        "tell me what to change",
        "告诉我要改什么",
        None,
    ),
    # Looking at the result: read-only, shown right away.
    _Rule(
        rf"{_LOOK}"
        r"(?:\s+(?:it|them|this|that|the\s+(?:result|video|clip|changes?|edits?)"
        r"|your\s+(?:video|result|clip|changes?))|\s*(?:效果|视频|结果))?"
        rf"(?:\s+(?:in|on|using)\s+(?:the\s+)?|\s*(?:在|到)\s*){_PLACE}(?:\s*(?:中|里|上))?{_PANEL}{_SEE_PURPOSE}",
        *_SHOW,
        SHOW,
    ),
    _Rule(
        rf"{_ZH_YOU_CAN}(?:(?:在|到|in\s+(?:the\s+)?)\s*)?(?:{_PLACE}{_PANEL}|{_SIDE_PANEL})(?:\s*(?:中|里|上))?\s*"
        rf"{_LOOK}(?:\s+(?:it|them|the\s+(?:result|video|clip|changes?|edits?)|your\s+(?:video|result|clip)))?"
        rf"{_ZH_REST}",
        *_SHOW,
        SHOW,
    ),
    _Rule(
        rf"{_OPEN}{_THE}(?:timeline|tracks?|preview|layers?|editor|media|assets?|时间线|时间轴|轨道|预览|图层)"
        + _PANEL
        + _SEE_PURPOSE,
        *_SHOW,
        SHOW,
    ),
    _Rule(
        rf"{_CLICK}{_THE}{_Q}(?:play|preview|播放|预览){_Q_END}{_BUTTON}"
        r"(?:\s+to\s+(?:preview|watch|see|view)(?:\s+(?:it|the\s+result|your\s+video))?"
        rf"|(?:\s*(?:来|以)?(?:预览|观看|查看|播放))?{_ZH_REST})?",
        *_SHOW,
        SHOW,
    ),
)

_SPACES = re.compile(r" +")
_NON_SPACE = re.compile(r"\S")
_SENTENCE_END = re.compile(r"[.!?。！？\n]")
_HAN = re.compile(f"[{_CJK}]")
_ZH_MARKS = frozenset("。，！？；：、（）「」『』")
_LATIN_WORD = re.compile(r"[A-Za-z]+")

# One search over the text with every rule as an alternative finds where the next piece of GUI talk
# starts; there each rule is tried and the longest match wins, so a sentence that mixes the two word
# orders is taken whole.
_COMPILED = tuple(re.compile(rule.pattern, re.IGNORECASE) for rule in _RULES)
# A phrase starts at a word (never at a space): this also keeps the search linear over runs of spaces.
_ANY_RULE = re.compile("(?=\\S)(?:" + "|".join(f"(?:{rule.pattern})" for rule in _RULES) + ")", re.IGNORECASE)


def _scores(text: str) -> tuple[int, int]:
    """(Chinese, English) weight of ``text``: Han characters and CJK marks against two per English word."""
    return len(_HAN.findall(text)) + sum(ch in _ZH_MARKS for ch in text), 2 * len(_LATIN_WORD.findall(text))


_CLEAR = 6  # a sentence this Chinese (or English) around a one-language phrase is answered in its language


def _sentence(stops: list[int], start: int, end: int, size: int) -> tuple[int, int]:
    """The bounds of the sentence holding ``start:end``; ``stops`` are the offsets just after each end."""
    before, after = bisect_right(stops, start), bisect_left(stops, end + 1)
    return (stops[before - 1] if before else 0), (stops[after] if after < len(stops) else size)


def _around(text: str, spans: list[tuple[int, int]], first: int, last: int) -> tuple[int, int]:
    """The scores of a sentence without its GUI phrases ("Done! 点击导出按钮 or click Export." -> " or ")."""
    pieces, cursor = [], first
    for at in range(max(0, bisect_left(spans, (first, 0)) - 1), len(spans)):
        other_start, other_end = spans[at]
        if other_start >= last:
            break
        if other_end > first:
            pieces.append(text[cursor : max(cursor, other_start)])
            cursor = max(cursor, other_end)
    pieces.append(text[cursor:last])
    return _scores("".join(pieces))


def _is_chinese(phrase: tuple[int, int], around: tuple[int, int]) -> bool:
    """Answer a phrase in its own language, unless its sentence clearly speaks the other ("If you don't
    like it, 点击「重新生成」."); a phrase mixing both takes its sentence's language."""
    (zh, en), (zh_around, en_around) = phrase, around
    if zh and en:
        return zh_around > en_around if zh_around or en_around else zh > en
    if zh:
        return not (en_around >= _CLEAR and not zh_around)
    return zh_around >= _CLEAR and not en_around


def _best_match(text: str, start: int) -> tuple[int, re.Match[str]] | None:
    best: tuple[int, re.Match[str]] | None = None
    for index, pattern in enumerate(_COMPILED):
        match = pattern.match(text, start)
        if match and match.end() > start and (best is None or match.end() > best[1].end()):
            best = (index, match)
    return best


def _find(text: str) -> list[tuple[int, re.Match[str]]]:
    """The GUI phrases of ``text`` in order, without overlaps: (rule index, match)."""
    found: list[tuple[int, re.Match[str]]] = []
    position = 0
    while (hit := _ANY_RULE.search(text, position)) is not None:
        start = hit.start()
        # A phrase starts at a word: the space before it stays with the sentence.
        best = None if text[start].isspace() else _best_match(text, start)
        if best is None:
            position = start + 1
            continue
        found.append(best)
        position = best[1].end()
    return found


def translate(text: str) -> GuiTranslation:
    """Rewrite GUI instructions for a chat user; collect the actions they imply."""
    found = _find(text)
    spans = [m.span() for _, m in found]
    stops = [m.end() for m in _SENTENCE_END.finditer(text)] if found else []  # just after each sentence end
    arounds: dict[tuple[int, int], tuple[int, int]] = {}  # one count per sentence: linear in the text
    actions: list[SuggestedAction] = []
    out: list[str] = []
    done = 0
    for index, match in found:
        rule, (start, end) = _RULES[index], match.span()
        if rule.action is not None and all(a.op != rule.action.op for a in actions):
            actions.append(rule.action)
        before = text[done:start]
        bounds = _sentence(stops, start, end, len(text))
        if bounds not in arounds:
            arounds[bounds] = _around(text, spans, *bounds)
        if _is_chinese(_scores(match.group()), arounds[bounds]):
            new = rule.zh
            # Chinese takes no space next to Chinese: "视频已生成， click Export" -> "视频已生成，说…".
            trimmed = before.rstrip(" ")
            if trimmed[-1:] and (_HAN.match(trimmed[-1]) or trimmed[-1] in _ZH_MARKS):
                before = trimmed
            spaces = _SPACES.match(text, end)
            following = text[spaces.end() : spaces.end() + 1] if spaces else ""
            if spaces and following and (_HAN.match(following) or following in _ZH_MARKS):
                end = spaces.end()
        else:
            new = rule.en
            # Keep the sentence well-formed: "Click Export…" -> "Say "export"…".
            if _NON_SPACE.search(text, bounds[0], start) is None:
                new = new[:1].upper() + new[1:]
        out += (before, new)
        done = end
    out.append(text[done:])
    return GuiTranslation(text="".join(out), actions=tuple(actions))


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
