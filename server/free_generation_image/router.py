"""Pure: free text (English, Chinese or both) -> the one operation to run.

Contract §3 step 3: route locally first; never send "export" to the backend agent. How it decides:

1. Quoted text is content, never a command ("a poster that says 'export'"). Media paths and URLs
   are lifted out as upload sources; job ids (``job_`` + 8-32 [a-z0-9]) are lifted out too.
2. The rest is cut into clauses (punctuation, "and", "then", 然后, 再...). A clause is a *command*
   when it holds an operation word and nothing else but filler ("please export it", "我还有多少积分"),
   or starts with an export verb ("export the final cut to my desktop"). A clause with other words
   is *content*: there operation words are nouns of a creative prompt ("a gymnast on a balance beam").
3. Negation ("don't export yet", "先别导出", a lone "not yet") disarms a command.
4. Precedence: cancel > upload > an edit instruction (generate) > export > credits > status >
   a job id (status) > other content (generate) > a negated command (status: free and harmless) >
   generate (a conversational reply to the agent).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from free_generation_image.mediatypes import MIME_TYPES

Op = Literal["generate", "export", "credits", "status", "upload", "cancel"]
Fmt = Literal["mp4", "png"]
OPS: tuple[Op, ...] = ("generate", "export", "credits", "status", "upload", "cancel")


@dataclass(frozen=True, kw_only=True)
class Route:
    """Where a chat message goes. ``prompt`` is the stripped message; ``reason`` is for logs."""

    op: Op
    fmt: Fmt | None = None
    sources: tuple[str, ...] = ()
    job_id: str | None = None
    prompt: str = ""
    reason: str = ""


# ----------------------------------------------------------------------------------- vocabulary


def _vocab(words: str) -> frozenset[str]:
    return frozenset(words.split())


_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUN = re.compile(f"[{_HAN}]+")
_HAN_CHAR = re.compile(f"[{_HAN}]")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_JOB_ID = re.compile(r"\bjob_[a-z0-9]{8,32}\b")
_QUOTES = str.maketrans({c: '"' for c in "“”„‟«»「」『』〝〞＂"} | {c: "'" for c in "‘’‚‛`´＇"})


def _any(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives))


# Operation words, searched in a normalised (NFKC, casefolded) clause.
_CANCEL = _any(
    r"\b(?:cancel(?:l?ed|l?ing|s)?|abort(?:ed|ing)?)\b",
    # "stop" alone or with a job-ish object: "stop the video at 5 s" is an edit.
    r"\bstop(?:\s+(?:it|this|that|now|everything|all|waiting|generating|rendering|exporting"
    r"|the\s+(?:job|render|export|generation|task)))?\s*$",
    r"取消|停止|终止|中止",
)
_UPLOAD = _any(r"\bupload(?:s|ed|ing)?\b", r"上传")
_EXPORT = _any(
    r"\b(?:export(?:s|ed|ing)?|download(?:s|ed|ing)?|render(?:s|ed|ing)?|save|saving)\b",
    r"\b(?:send|give|get|deliver|hand)\s+(?:it\s+(?:to\s+)?(?:me|us)|(?:me|us)\s+(?:it|the|my|our|that|this))\b",
    r"导出|下载|出片|渲染|保存|发给我|发我",
)
_CREDITS = _any(r"\bcredits\b|\bbalance\b|\bhow much credit\b", r"积分|余额|额度|点数")
_STATUS = _any(
    r"\b(?:status|progress|timeline|tracks|state|show|view|display|preview|list|see|check)\b",
    r"\bhow(?:'s|\s+is)\s+it\s+going\b|\bany\s+(?:news|updates?)\b",
    r"状态|进度|时间线|时间轴|轨道|预览|怎么样了",
)
# "is the export done?" asks about progress: the operation word inside it is not a command.
_STATUS_QUESTION = _any(
    r"\b(?:is|are|was)\s+(?:it|you|we|they|the\s+\w+|my\s+\w+)\s+(?:done|ready|finished|complete)\b",
    r"(?:导出|下载|生成|渲染)?(?:好|完成|做好|弄好)了(?:吗|没)",
)
_KEYWORDS: tuple[tuple[Op, re.Pattern[str]], ...] = (
    ("cancel", _CANCEL),
    ("upload", _UPLOAD),
    ("export", _EXPORT),
    ("credits", _CREDITS),
    ("status", _STATUS),
)
_ALL_KEYWORDS = re.compile("|".join(f"(?:{p.pattern})" for _, p in _KEYWORDS))
# Verbs that make a clause start an export even with more words after them.
_STRONG_EXPORT = re.compile(r"^(?:export|download)(?:s|ed|ing)?\b|^(?:导出|下载)")

_PREFIX_EN = re.compile(
    r"^(?:(?:please|pls|plz|kindly|ok|okay|alright|so|now|then|and|also|just|hey|hi|yes|yeah|yep|sure"
    r"|great|good|nice|perfect|cool|awesome|thanks|thank\s+you|can\s+you|could\s+you|would\s+you|will\s+you"
    r"|can\s+u|could\s+u|i\s+want\s+to|i\s+wanna|i'd\s+like\s+to|i\s+would\s+like\s+to|let's|lets|let\s+me"
    r"|go\s+ahead\s+and|time\s+to|you\s+can|help\s+me|finally)\b\s*)+"
)
_PREFIX_ZH = re.compile(
    r"^(?:请你?|麻烦(?:你|您)?|帮我|帮忙|给我|替我|我要|我想要?|你|您|可以|能不能|能否|现在|那就|那么|那|就"
    r"|然后|最后|好了|好的|好吧|好|行|嗯|先|再|直接|马上|立刻|赶紧|快)+\s*"
)
# A-not-A questions and idioms that contain a negation character but do not negate.
_NOT_NEGATION = re.compile(r"没问题|不错|不客气|没事|要不要|要不|不如|能不能|可不可以|是不是|行不行|好不好")
_NEG_EN = _vocab(
    "don't dont not never no without before hold wait instead rather avoid skip won't wont shouldn't"
    " shouldnt needn't cannot can't cant isn't"
)
_NEG_EN_AFTER = _vocab("later not tomorrow afterwards yet")
_NEG_ONLY_CORE = _vocab("no nope nah not later never don't dont hold")
_NEG_ONLY_EN = _NEG_ONLY_CORE | _vocab("yet now for wait on off please just do it that ok okay thanks")
_NEG_ONLY_ZH = re.compile(
    r"^[先还暂时现在就]*(?:不要|不用|不|别|没有?|等等|等一下|算了|稍后|晚点|再说)+[了吧呢啊呀吗]*$"
)
_NEG_ZH_BEFORE = re.compile(
    rf"(?:别|不要|不用|不必|无需|无须|勿|不|没有?|甭|稍后|晚点|等会儿?|等一下|过会儿?|一会儿?|以后)\s*[{_HAN}]{{0,3}}\s*$"
)
_NEG_ZH_AFTER = re.compile(rf"^\s*[{_HAN}]{{0,2}}?(?:先不|不用|不要|先别|等等|以后|晚点|稍后|再说)")
_NEG_ZH_START = re.compile(r"^(?:别|不要|不用|不|无需|没|勿)")
_NEG_EN_START = _vocab("don't dont do not no never without")

_FILLER_EN = _vocab(
    """a an the this that these those it its it's them they their there here me my mine myself i i'm i'd i'll
    im we us our ours you your yours u ur is are was were be been being am do does did doing have has had
    having can could would will shall should may might must to for of on in as at with from into onto by
    about via and or then also so just only up out over off please pls plz kindly thanks thank thx ty ok
    okay k alright hey hi hello yes yeah yep yup sure great good nice perfect cool awesome fine lovely love
    like looks look looking done ready finished complete completed what what's whats how how's hows where
    when which who why many much any some all every each left remaining remain current currently now right
    away yet again already still show check see view tell give get send let let's lets display list print
    open fetch know want wanna need needs quickly asap immediately soon video videos file files clip clips
    movie movies result results project projects cut version final whole full entire thing stuff copy
    output hd high quality best resolution format png mp4 jpg jpeg image images picture pictures photo
    photos frame still snapshot account job jobs task tasks going doing happening news update updates info
    details desktop folder disk computer locally local downloads drive device as well too go ahead far
    along cost costs price second seconds sec secs"""
)
_ZH_NOISE = re.compile(
    r"没问题|不错|不客气|没事|要不要|要不|不如|能不能|可不可以|是不是|行不行|好不好"
    r"|等会儿?|等一下|等等|过会儿?|稍后|晚点|以后|算了|还没|暂时|无需|无须|不要|不用|不必|先别|先不"
    r"|一下|帮忙|我们|你们|这些|那些|现在|马上|立刻|立即|赶紧|视频|文件|图片|成片|作品|影片|片子|短片|格式"
    r"|高清|最终|最后|项目|工程|当前|目前|多少|剩余|剩下|查看|查询|看看|显示|怎么样|怎样|如何|情况|任务"
    r"|一个|这个|那个|全部|所有|可以|好的|好了|谢谢|完美|太棒了|出来|本地|电脑|桌面|文件夹|一共|总共|账户"
    r"|账号|帐户|继续|还有|急着|着急|一会儿?"
    r"|[吧吗嘛呢啊呀哦噢嗯了的地得着下请帮我你您它他她这那个把给将为成用到是有在快要想还剩查看好棒行先再就都也又么没别不勿甭]"
)
_EDIT_EN = _vocab(
    """add make change remove replace generate regenerate create use put set turn insert adjust increase
    decrease raise lower speed slow trim crop fix edit apply include draw paint swap move extend shorten
    lengthen mute unmute reduce boost brighten darken write animate film shoot delete drop keep redo
    redraw recolor resize bigger smaller larger louder quieter softer faster slower brighter darker longer
    shorter warmer cooler sharper higher more less"""
)
_EDIT_ZH = re.compile(
    r"加|添|换|改|删|去掉|去除|移除|生成|做|制作|画|绘|调|替换|放|插入|配|剪|裁|变|让|拍|写|设置|设为|缩短|延长|加快|放慢|提高|降低"
)

_PNG_WORDS = re.compile(r"\bpng\b|\bjpe?g\b")
_MP4_WORDS = re.compile(r"\bmp4\b|\bmov\b")
_STILL_WORDS = re.compile(
    r"\b(?:still|image|picture|photo|frame|snapshot|screenshot|thumbnail)s?\b|图片|静帧|截图|照片|图像|封面"
)

_CLAUSE_SPLIT = re.compile(
    r"[,;:!?。、；：！？\n…~]+|\.(?!\d)"
    r"|\s(?:and\s+then|and|then|but|also|so|after\s+that)\s"
    # 再 joins "first this, then that", but not in 不再, 等会再 (later) or 再说 (let's see).
    r"|然后|并且|接着|但是|之后|(?<!不)(?<!别)(?<!等会)(?<!稍后)(?<!晚点)(?<!以后)(?<!一会)(?<!过会)(?<!会儿)再(?!说)"
)

# ----------------------------------------------------------------------------------------- sources

_EXT = "|".join(sorted(MIME_TYPES, key=len, reverse=True))
_END = r"(?=$|[\s,;!?)\]}>\"'。，；！？、）】]|\.(?:\s|$))"
_URL = re.compile(r"\b(?:https?|file)://[^\s\"'<>，。、；！？）】]+", re.IGNORECASE)
_WIN_PATH = re.compile(
    rf"(?<![\w/\\])(?:[a-z]:[\\/]|\\\\[^\\/\s]+[\\/])[^\n\"'<>|?*:]{{0,400}}?\.(?:{_EXT}){_END}",
    re.IGNORECASE,
)
_POSIX_PATH = re.compile(
    rf"(?<![\w/\\:.~])(?:~|\.{{1,2}})?/(?:[^\s\"'<>|\\]|\\ ){{1,400}}?\.(?:{_EXT}){_END}", re.IGNORECASE
)
# Any other path-looking token: an upload source only after "upload" (the backend then names the formats).
_OTHER_PATH = re.compile(r"(?<![\w/\\:.~])(?:(?:~|\.{1,2})?/|[a-z]:[\\/])[^\s\"'<>|]+", re.IGNORECASE)
_BARE_NAME = re.compile(rf"(?<![\w/\\.~-])\w[\w.-]{{0,200}}\.(?:{_EXT}){_END}", re.IGNORECASE)
# Single quotes only count when they do not touch a letter outside: "don't" is not a quote.
_QUOTED = re.compile(r"\"([^\"\n]{1,1024})\"|(?<![^\W_])'([^'\n]{1,1024})'(?![^\W_])")
_PATH_START = re.compile(r"^(?:~|\.{1,2})?/|^[a-z]:[\\/]|^\\\\|^(?:https?|file)://", re.IGNORECASE)
_HAS_MEDIA_EXT = re.compile(rf"\.(?:{_EXT})$", re.IGNORECASE)
_TRAILING_PUNCT = ".,;:!?)]}>'\""


def _is_media_url(url: str) -> bool:
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    return bool(_HAS_MEDIA_EXT.search(unquote(path)))


def _clean_source(raw: str) -> str:
    if raw.lower().startswith("file://"):
        try:
            return unquote(urlsplit(raw).path) or raw
        except ValueError:
            return raw
    return raw.replace("\\ ", " ") if not re.match(r"^[a-z]:|^\\\\", raw, re.IGNORECASE) else raw


@dataclass(frozen=True)
class _Sources:
    media: tuple[tuple[int, str], ...]  # (position, source) for media paths/URLs
    other: tuple[tuple[int, str], ...]  # URLs and paths without a media extension (used after "upload")
    bare: tuple[tuple[int, str], ...]  # bare file names (used after "upload", or when alone)
    masked: str  # the message with every source blanked out


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _find_sources(text: str) -> _Sources:
    media: list[tuple[int, str]] = []
    other: list[tuple[int, str]] = []
    bare: list[tuple[int, str]] = []
    masked = text
    for match in _QUOTED.finditer(text):
        inner = (match.group(1) or match.group(2) or "").strip()
        # Inside quotes a path may contain spaces: "/Users/me/My Clip.mov".
        if _PATH_START.match(inner) and (_HAS_MEDIA_EXT.search(inner) or _is_media_url(inner)):
            media.append((match.start(), inner))
        elif _HAS_MEDIA_EXT.search(inner) and "\n" not in inner:
            bare.append((match.start(), inner))
        else:
            continue
        masked = _blank(masked, match.start(), match.end())
    for match in _URL.finditer(masked):
        url = match.group(0).rstrip(_TRAILING_PUNCT)
        (media if _is_media_url(url) else other).append((match.start(), url))
        masked = _blank(masked, match.start(), match.end())
    for pattern in (_WIN_PATH, _POSIX_PATH):
        for match in pattern.finditer(masked):
            media.append((match.start(), match.group(0)))
            masked = _blank(masked, match.start(), match.end())
    for match in _OTHER_PATH.finditer(masked):
        other.append((match.start(), match.group(0).rstrip(_TRAILING_PUNCT)))
        masked = _blank(masked, match.start(), match.end())
    for match in _BARE_NAME.finditer(masked):
        bare.append((match.start(), match.group(0)))
        masked = _blank(masked, match.start(), match.end())
    return _Sources(tuple(media), tuple(other), tuple(bare), masked)


def _ordered(*groups: tuple[tuple[int, str], ...]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for _, source in sorted(item for group in groups for item in group):
        seen.setdefault(_clean_source(source), None)
    return tuple(seen)


# ----------------------------------------------------------------------------------------- clauses


@dataclass(frozen=True)
class _Clause:
    kind: Literal["command", "content", "negation", "filler"]
    positive: frozenset[Op] = frozenset()
    negated: frozenset[Op] = frozenset()
    instruction: bool = False  # content that asks for an edit (not just a stray word)
    negated_content: bool = False


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    # Separate Han runs from Latin words so \b works in mixed text ("请export一下").
    return " ".join(_HAN_RUN.sub(r" \g<0> ", text).split())


def _strip_prefix(clause: str) -> str:
    previous = None
    while previous != clause:
        previous = clause
        clause = _PREFIX_EN.sub("", clause).strip()
        clause = _PREFIX_ZH.sub("", clause).strip()
    return clause


def _en_words(text: str) -> list[str]:
    return _WORD.findall(_HAN_CHAR.sub(" ", text))


def _is_negated(body: str, start: int, end: int) -> bool:
    before = _NOT_NEGATION.sub(" ", body[:start])
    after = _NOT_NEGATION.sub(" ", body[end:])
    if _NEG_EN.intersection(_en_words(before)[-4:]) or _NEG_EN_AFTER.intersection(_en_words(after)[:3]):
        return True
    return bool(_NEG_ZH_BEFORE.search(before) or _NEG_ZH_AFTER.search(after))


def _content_words(body: str) -> tuple[int, bool]:
    """How many content words/characters remain once operation words and filler are removed; any edit verb?"""
    rest = _ZH_NOISE.sub(" ", _ALL_KEYWORDS.sub(" ", body))
    han = _HAN_CHAR.findall(rest)
    words = [w for w in _en_words(rest) if w not in _FILLER_EN and w not in _NEG_EN and not _is_number(w)]
    edit = bool(_EDIT_EN.intersection(words) or _EDIT_ZH.search(rest))
    return len(han) + len(words), edit


def _is_number(word: str) -> bool:
    return bool(re.fullmatch(r"\d+(?:p|k|fps|s|sec)?", word))


def _analyze(clause: str, *, has_job_id: bool) -> _Clause:
    body = _strip_prefix(clause)
    if not body:
        return _Clause("filler")
    positive: set[Op] = set()
    negated: set[Op] = set()
    if _STATUS_QUESTION.search(body):
        positive.add("status")
        body = _STATUS_QUESTION.sub(" ", body)
    for op, pattern in _KEYWORDS:
        for match in pattern.finditer(body):
            (negated if _is_negated(body, match.start(), match.end()) else positive).add(op)
    negated -= positive
    content, edit = _content_words(body)
    hits = positive | negated
    strong = bool(_STRONG_EXPORT.match(body)) or (has_job_id and "cancel" in hits)
    if hits and (content == 0 or strong):
        return _Clause("command", frozenset(positive), frozenset(negated))
    if content:
        words = _en_words(body)
        starts_negated = bool(_NEG_ZH_START.match(body)) or (bool(words) and words[0] in _NEG_EN_START)
        return _Clause("content", instruction=edit or content >= 3, negated_content=starts_negated)
    return _Clause("negation") if _only_negation(body) else _Clause("filler")


def _only_negation(body: str) -> bool:
    """A clause that just says no: "not yet", "hold on", "先不", "算了"."""
    han = "".join(_HAN_RUN.findall(body))
    words = set(_en_words(body))
    if han and not _NEG_ONLY_ZH.match(han):
        return False
    if words and not (words <= _NEG_ONLY_EN and words & _NEG_ONLY_CORE):
        return False
    return bool(han or words)


def _format(scan: str) -> Fmt:
    png, mp4 = _PNG_WORDS.search(scan), _MP4_WORDS.search(scan)
    if png and (not mp4 or png.start() < mp4.start()):
        return "png"
    if mp4:
        return "mp4"
    return "png" if _STILL_WORDS.search(scan) else "mp4"


def _quoted_placeholder(match: re.Match[str]) -> str:
    """Quoted text becomes one content word, unless it is a bare operation word (say “export”)."""
    inner = _normalize(match.group(1) or match.group(2) or "")
    return f" {inner} " if _ALL_KEYWORDS.fullmatch(inner) else " quotedtext "


def _unwrap(text: str) -> str:
    # A user repeating our own suggestion may type the quotes too: “export”.
    quoted = _QUOTED.fullmatch(text.translate(_QUOTES))
    return (quoted.group(1) or quoted.group(2) or "").strip() if quoted else text


# ------------------------------------------------------------------------------------------ route


def route(message: str) -> Route:
    """Decide which operation a chat message asks for. Never raises; unknown text is a generation prompt."""
    prompt = message.strip()
    if not prompt:
        return Route(op="status", prompt="", reason="empty message: showing status")
    text = _unwrap(prompt)
    found = _find_sources(text.translate(_QUOTES))
    job_ids = _JOB_ID.findall(_normalize(text))
    scan = _JOB_ID.sub(" ", _normalize(_QUOTED.sub(_quoted_placeholder, found.masked)))
    clauses = [_analyze(part, has_job_id=bool(job_ids)) for part in _CLAUSE_SPLIT.split(scan) if part.strip()]

    global_negation = any(c.kind == "negation" for c in clauses)
    positive: set[Op] = set()
    negated: set[Op] = set()
    for clause in clauses:
        if clause.kind == "command":
            positive |= clause.positive
            negated |= clause.negated
    if global_negation:
        # A lone "not yet" / "先不" disarms what would spend time or change things, not read-only looks.
        negated |= positive & {"export", "upload", "cancel"}
        positive -= {"export", "upload", "cancel"}
    job_id = job_ids[0] if job_ids else None

    if "cancel" in positive:
        return Route(op="cancel", job_id=job_id, prompt=prompt, reason="cancel request")
    if "upload" in positive:
        sources = _ordered(found.media, found.other, found.bare)
        return Route(op="upload", sources=sources, prompt=prompt, reason="upload request")
    if found.media and not {"export", "upload"} & (positive | negated):
        return Route(op="upload", sources=_ordered(found.media), prompt=prompt, reason="media path or URL")
    if found.bare and all(c.kind == "filler" for c in clauses):
        return Route(op="upload", sources=_ordered(found.bare), prompt=prompt, reason="file name alone")
    if any(c.kind == "content" and c.instruction and not c.negated_content for c in clauses):
        held = " (a command was negated)" if negated or global_negation else ""
        return Route(op="generate", prompt=prompt, reason=f"edit instruction{held}")
    if "export" in positive:
        return Route(op="export", fmt=_format(scan), prompt=prompt, reason="export request")
    if "credits" in positive:
        return Route(op="credits", prompt=prompt, reason="credits request")
    if "status" in positive or job_id:
        return Route(op="status", job_id=job_id, prompt=prompt, reason="status request")
    if any(c.kind == "content" for c in clauses):
        return Route(op="generate", prompt=prompt, reason="creative prompt")
    if negated or global_negation:
        return Route(op="status", prompt=prompt, reason="negated command, nothing else to do")
    return Route(op="generate", prompt=prompt, reason="conversation reply")


__all__ = ["OPS", "Fmt", "Op", "Route", "route"]
