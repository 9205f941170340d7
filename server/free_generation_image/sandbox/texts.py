"""What the scripted agent says, in English or Chinese (the session's ``language``)."""

from __future__ import annotations

from typing import Literal

Lang = Literal["en", "zh"]

TEMPORARY_ISSUE = {
    "en": "I encountered a temporary issue. Please try again in a moment.",
    "zh": "I encountered a temporary issue. 请稍后再试。",
}


def lang_of(language: str | None) -> Lang:
    """``zh``, ``zh-CN``, ``zh_TW``... answer in Chinese; everything else in English."""
    return "zh" if (language or "").lower().replace("_", "-").split("-")[0] == "zh" else "en"


def _noun(kind: str, lang: Lang) -> str:
    return {"en": {"image": "image", "video": "video"}, "zh": {"image": "图片", "video": "视频"}}[lang][kind]


def acknowledge(kind: str, ratio: str, seconds: float, lang: Lang) -> str:
    """First words of a generation turn."""
    if lang == "zh":
        extra = f"，时长 {seconds:g} 秒" if kind == "video" else ""
        return f"好的！正在为你生成一个 {ratio} 的{_noun(kind, lang)}{extra}，请稍等……"
    extra = f", {seconds:g} seconds long" if kind == "video" else ""
    return f"Sure! Generating a {ratio} {_noun(kind, lang)}{extra}. This may take a moment…"


def raw_ready(kind: str, lang: Lang) -> str:
    """Between the two stages: the raw media exists, post-production starts."""
    if lang == "zh":
        extra = "背景音乐和标题" if kind == "video" else "标题"
        return f"原始{_noun(kind, lang)}已生成，正在添加{extra}……"
    extra = "background music and a title" if kind == "video" else "a title"
    return f"The raw {_noun(kind, lang)} is ready. Now adding {extra}…"


def finished(kind: str, title: str, lang: Lang, *, gui: bool) -> str:
    """Final text of a generation turn (optionally with GUI talk the client must translate)."""
    if lang == "zh":
        text = f"完成！你的{_noun(kind, lang)}《{title}》已经放进时间线。"
        return text + ("点击导出按钮即可下载。" if gui else "")
    text = f'Done! Your {_noun(kind, lang)} "{title}" is on the timeline.'
    return text + (" Click the Export button to download it." if gui else "")


def edited(summary: str, lang: Lang, *, gui: bool) -> str:
    """Final text of an edit turn."""
    if lang == "zh":
        return f"已更新时间线：{summary}。" + ("你可以在右侧面板预览效果。" if gui else "")
    return f"Updated the timeline: {summary}." + (" Open the preview panel to see it." if gui else "")


def unchanged(lang: Lang) -> str:
    """Final text of an edit turn that found nothing to change."""
    if lang == "zh":
        return "时间线已经是你要求的样子，没有需要修改的地方。"
    return "The timeline already looks like that; nothing needed to change."


def edit_summary(ops: list[str], lang: Lang) -> str:
    """Human phrase for a list of applied edit operations."""
    words = {
        "add_music": ("added background music", "添加了背景音乐"),
        "remove_music": ("removed the music", "移除了音乐"),
        "music_louder": ("made the music louder", "调大了音乐音量"),
        "music_quieter": ("made the music quieter", "调小了音乐音量"),
        "title_color": ("changed the title colour", "修改了标题颜色"),
        "title_text": ("changed the title text", "修改了标题文字"),
        "effect": ("applied the requested effect", "应用了你要求的效果"),
    }
    index = 1 if lang == "zh" else 0
    return ("、" if lang == "zh" else ", ").join(words[op][index] for op in ops)


def unavailable(kind: str, lang: Lang) -> str:
    """Said when the sandbox cannot synthesize the media (PyAV missing, broken or without H.264)."""
    if lang == "zh":
        return (
            f"抱歉，沙盒无法生成{_noun(kind, lang)}：PyAV（av 包）缺失或无法使用。"
            "请重新安装 free-generation-image（pip install --force-reinstall av）。"
        )
    return (
        f"Sorry, this sandbox cannot make a {_noun(kind, lang)}: PyAV (the av package) is missing or "
        "cannot be used here. Reinstall free-generation-image (pip install --force-reinstall av)."
    )
