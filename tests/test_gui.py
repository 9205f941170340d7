"""gui.translate / gui.strip_temporary_issue: the backend's GUI talk, rewritten for a chat (EN + ZH)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from free_generation_image.gui import (
    EXPORT,
    REGENERATE,
    SHOW,
    GuiTranslation,
    strip_temporary_issue,
    translate,
)

# (agent text, exact translated text, action ops in order)
TABLE: list[tuple[str, str, tuple[str, ...]]] = [
    (
        "Your video is ready! Click the Export button in the top right corner to download your video.",
        'Your video is ready! Say "export" and I will render and download it.',
        ("export",),
    ),
    (
        "You can click “Export” now.",
        'You can say "export" and I will render and download it now.',
        ("export",),
    ),
    ("Then hit export.", 'Then say "export" and I will render and download it.', ("export",)),
    (
        "Go to File > Export to save the video.",
        'Say "export" and I will render and download it.',
        ("export",),
    ),
    (
        "Use the Download button at the top of the page to get your file.",
        'Say "export" and I will render and download it.',
        ("export",),
    ),
    (
        "You can preview it in the timeline. If you don't like it, click Regenerate.",
        "You can see the timeline summary below. If you don't like it, "
        'say "regenerate" and I will make a new version (this uses credits).',
        ("status", "generate"),
    ),
    (
        'Open the timeline panel to see the tracks. Then hit "Export".',
        'See the timeline summary below. Then say "export" and I will render and download it.',
        ("status", "export"),
    ),
    ("Press the play button to preview it.", "See the timeline summary below.", ("status",)),
    (
        "Drag your files onto the timeline, or click Upload.",
        'Send me the file path or URL (say "upload <path>").',
        (),
    ),
    (
        "Just drag and drop the clip into the editor.",
        'Just send me the file path or URL (say "upload <path>").',
        (),
    ),
    ("Open the settings panel and change the font.", "Just tell me how you want to change the font.", ()),
    ("Open the properties panel.", "Tell me what to change.", ()),
    # Chinese
    (
        "视频已生成！点击右上角的导出按钮即可下载视频。",
        "视频已生成！说“导出”，我会帮你渲染并下载到本地。",
        ("export",),
    ),
    ("请点击「导出」。", "说“导出”，我会帮你渲染并下载到本地。", ("export",)),
    (
        "你可以在时间线中预览效果，也可以点击「重新生成」。",
        "时间线摘要见下方，说“重新生成”，我会重新生成一个版本（会消耗积分）。",
        ("status", "generate"),
    ),
    ("打开时间线面板查看轨道", "时间线摘要见下方", ("status",)),
    ("把视频拖到时间线上，或点击上传按钮。", "把文件路径或链接发给我（说“上传 <路径>”）。", ()),
    ("请把素材拖拽到时间线上。", "请把文件路径或链接发给我（说“上传 <路径>”）。", ()),
    # Mixed: the Chinese phrase gets a Chinese answer, the English one an English answer.
    (
        "Done! 点击导出按钮 or click Export.",
        'Done! 说“导出”，我会帮你渲染并下载到本地 or say "export" and I will render and download it.',
        ("export",),
    ),
]


@pytest.mark.parametrize(("text", "expected", "ops"), TABLE, ids=[t[:40] for t, _, _ in TABLE])
def test_translate_table(text: str, expected: str, ops: tuple[str, ...]) -> None:
    got = translate(text)
    assert got.text == expected
    assert tuple(a.op for a in got.actions) == ops


_EXPORT_EN = 'say "export" and I will render and download it'
_EXPORT_ZH = "说“导出”，我会帮你渲染并下载到本地"
_SHOW_EN = "see the timeline summary below"
_SHOW_ZH = "时间线摘要见下方"
_UPLOAD_EN = 'send me the file path or URL (say "upload <path>")'
_UPLOAD_ZH = "把文件路径或链接发给我（说“上传 <路径>”）"
_REGEN_EN = 'say "regenerate" and I will make a new version (this uses credits)'
_REGEN_ZH = "说“重新生成”，我会重新生成一个版本（会消耗积分）"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# Sentences mixing English and Chinese, as the backend writes them. A phrase that mixes both languages is
# answered in the language of the sentence around it; a phrase in one language keeps it, unless the
# sentence around it clearly speaks the other.
MIXED: list[tuple[str, str, tuple[str, ...]]] = [
    # open the timeline / preview panel
    ("You can also 打开 the timeline panel to preview it.", f"You can also {_SHOW_EN}.", ("status",)),
    ("Open the 时间线 panel to see the tracks.", f"{_cap(_SHOW_EN)}.", ("status",)),
    ("你也可以 open the timeline panel 查看效果。", f"{_SHOW_ZH}。", ("status",)),
    ("打开 timeline 面板查看轨道。", f"{_SHOW_ZH}。", ("status",)),
    ("请打开 preview 窗口。", f"{_SHOW_ZH}。", ("status",)),
    # preview in the timeline
    ("在 timeline 中预览效果。", f"{_SHOW_ZH}。", ("status",)),
    ("You can 在时间线中预览 the result.", f"You can {_SHOW_EN}.", ("status",)),
    ("You can preview 效果 in the 时间线.", f"You can {_SHOW_EN}.", ("status",)),
    ("你可以在 preview 窗口 check 一下。", f"{_SHOW_ZH}。", ("status",)),
    ("You can now 预览 it in the timeline.", f"You can now {_SHOW_EN}.", ("status",)),
    ("Press 播放 button to preview it.", f"{_cap(_SHOW_EN)}.", ("status",)),
    ("点击 Play 按钮预览。", f"{_SHOW_ZH}。", ("status",)),
    # the Export button
    ("点击 Export 按钮下载视频。", f"{_EXPORT_ZH}。", ("export",)),
    ("Click 导出 to download.", f"{_cap(_EXPORT_EN)}.", ("export",)),
    (
        "Click the 导出 button in the top right corner to download your video.",
        f"{_cap(_EXPORT_EN)}.",
        ("export",),
    ),
    ("请点击 “Export” 按钮。", f"{_EXPORT_ZH}。", ("export",)),
    ("视频已生成， click Export 即可下载。", f"视频已生成，{_EXPORT_ZH}。", ("export",)),
    (
        "Your video is ready, 点击右上角的 Export button to download it.",
        f"Your video is ready, {_EXPORT_EN}.",
        ("export",),
    ),
    ("视频已经生成好了，click Export。", f"视频已经生成好了，{_EXPORT_ZH}。", ("export",)),
    ("You can 点击导出 now.", f"You can {_EXPORT_EN} now.", ("export",)),
    ("The 导出 button is in the top right corner.", f"{_cap(_EXPORT_EN)}.", ("export",)),
    ("导出 button 在右上角。", f"{_EXPORT_ZH}。", ("export",)),
    ("Go to File > 导出 to save the video.", f"{_cap(_EXPORT_EN)}.", ("export",)),
    # several phrases in one reply
    (
        "在 timeline 中预览效果，满意的话点击 Export。",
        f"{_SHOW_ZH}，满意的话{_EXPORT_ZH}。",
        ("status", "export"),
    ),
    (
        "Preview it 在时间线里, then click 导出.",
        f"{_cap(_SHOW_EN)}, then {_EXPORT_EN}.",
        ("status", "export"),
    ),
    (
        "I added lo-fi music. 你可以在时间线中预览效果。Then click Export.",
        f"I added lo-fi music. {_SHOW_ZH}。Then {_EXPORT_EN}.",
        ("status", "export"),
    ),
    # regenerate
    ("If you don't like it, 点击「重新生成」.", f"If you don't like it, {_REGEN_EN}.", ("generate",)),
    ("不满意可以 click Regenerate。", f"不满意{_REGEN_ZH}。", ("generate",)),
    ("点击 the Regenerate button to try again.", f"{_cap(_REGEN_EN)}.", ("generate",)),
    ("如果不满意，点击 Regenerate 按钮重新生成。", f"如果不满意，{_REGEN_ZH}。", ("generate",)),
    ("如果不喜欢，click Regenerate。", f"如果不喜欢，{_REGEN_ZH}。", ("generate",)),
    # drag / upload
    ("把视频 drag 到 timeline 上。", f"{_UPLOAD_ZH}。", ()),
    ("Drag 文件 onto the 时间线.", f"{_cap(_UPLOAD_EN)}.", ()),
    ("请 drag and drop your files into the 编辑器，或点击上传按钮。", f"请{_UPLOAD_ZH}。", ()),
    ("Please 拖拽 the clip onto the timeline.", f"Please {_UPLOAD_EN}.", ()),
    ("Click the 上传 button to add your footage.", f"{_cap(_UPLOAD_EN)}.", ()),
    ("点击 Upload 按钮上传素材。", f"{_UPLOAD_ZH}。", ()),
    # settings panels
    ("打开 settings 面板修改字体。", "告诉我要改什么。", ()),
    ("Open the 设置 panel and change the font.", "Just tell me how you want to change the font.", ()),
]


@pytest.mark.parametrize(("text", "expected", "ops"), MIXED, ids=[t[:40] for t, _, _ in MIXED])
def test_translate_mixed_languages(text: str, expected: str, ops: tuple[str, ...]) -> None:
    got = translate(text)
    assert got.text == expected
    assert tuple(a.op for a in got.actions) == ops


def test_there_are_enough_mixed_cases() -> None:
    han = [
        t
        for t, _, _ in MIXED
        if any("\u4e00" <= c <= "\u9fff" for c in t) and any(c.isascii() and c.isalpha() for c in t)
    ]
    assert len(han) == len(MIXED) >= 30


# The seed table's phrases (click / 点击, open / 打开, drag / 拖拽, preview in the timeline / 在时间线中预览,
# the Export button / 导出按钮) wherever they sit: first, mid-sentence, last, after a clause, in brackets.
POSITIONS: list[tuple[str, str, tuple[str, ...]]] = [
    ("If you like it, click Export.", f"If you like it, {_EXPORT_EN}.", ("export",)),
    (
        "All set — click Export whenever you're ready.",
        f"All set — {_EXPORT_EN} whenever you're ready.",
        ("export",),
    ),
    ("(You can also open the timeline panel.)", f"(You can also {_SHOW_EN}.)", ("status",)),
    (
        "Everything is ready — preview it in the timeline, then click Export.",
        f"Everything is ready — {_SHOW_EN}, then {_EXPORT_EN}.",
        ("status", "export"),
    ),
    ("Want more? Just drag your files onto the timeline.", f"Want more? Just {_UPLOAD_EN}.", ()),
    ("You'll find the Export button in the top right corner.", f"{_cap(_EXPORT_EN)}.", ("export",)),
    ("The Export button is in the top right corner of the editor.", f"{_cap(_EXPORT_EN)}.", ("export",)),
    ("Done! Open the preview panel to see it.", f"Done! {_cap(_SHOW_EN)}.", ("status",)),
    ("喜欢的话，点击导出按钮。", f"喜欢的话，{_EXPORT_ZH}。", ("export",)),
    ("导出按钮在右上角。", f"{_EXPORT_ZH}。", ("export",)),
    ("使用右上角的导出按钮即可下载。", f"{_EXPORT_ZH}。", ("export",)),
    ("点导出即可。", f"{_EXPORT_ZH}。", ("export",)),
    ("已完成（你可以打开时间线面板查看）。", f"已完成（{_SHOW_ZH}）。", ("status",)),
    ("你可以在右侧面板预览效果。", f"{_SHOW_ZH}。", ("status",)),
    ("最后，在预览窗口中查看效果吧！", f"最后，{_SHOW_ZH}！", ("status",)),
    ("素材不够？把图片拖到画布上。", f"素材不够？{_UPLOAD_ZH}。", ()),
    ("请选择「重新生成」。", f"{_REGEN_ZH}。", ("generate",)),
]


@pytest.mark.parametrize(("text", "expected", "ops"), POSITIONS, ids=[t[:40] for t, _, _ in POSITIONS])
def test_translate_phrases_wherever_they_sit(text: str, expected: str, ops: tuple[str, ...]) -> None:
    got = translate(text)
    assert got.text == expected
    assert tuple(a.op for a in got.actions) == ops


@pytest.mark.parametrize(
    "text",
    [
        "有一点下载慢，请稍等。",  # 一点 is "a little", not "click"
        "按下载量排序。",  # 按 is "by"
        "选择导出格式为 MP4。",  # "choose the export format"
        "使用生成的视频作为封面。",  # "use the generated video"
        "你可以在社区查看更多作品。",  # a community page is not a panel
        "The export button label is now bold.",
        "I will export the timeline when you say so.",
        "重点预览一下",
    ],
)
def test_words_that_only_look_like_gui_talk_are_untouched(text: str) -> None:
    got = translate(text)
    assert (got.text, got.actions) == (text, ())


def test_mixed_translation_is_stable() -> None:
    for text, _, _ in MIXED + POSITIONS:
        once = translate(text)
        assert translate(once.text) == GuiTranslation(once.text)


@pytest.mark.parametrize(
    "text",
    [" " * 20_000 + "x", "把" + " " * 20_000, "click " * 5_000, "preview " * 5_000, "点击导出。" * 5_000],
)
def test_long_or_repetitive_replies_take_linear_time(text: str) -> None:
    # Nested optional spaces once made this cubic (seconds for 1,000 spaces); now it is milliseconds.
    started = time.perf_counter()
    translate(text)
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(
    "text",
    [
        "I added lo-fi music at 35% volume and a neon title.",
        "The export feature is free; generation costs credits.",
        "我给视频加了背景音乐和标题。",
        "",
    ],
)
def test_text_without_gui_talk_is_untouched(text: str) -> None:
    got = translate(text)
    assert (got.text, got.actions) == (text, ())


def test_actions_say_what_is_safe_to_run_at_once() -> None:
    assert SHOW.immediate  # read-only: the service shows the timeline right away
    assert not EXPORT.immediate  # long: offered as a next step
    assert not REGENERATE.immediate  # spends credits: never run silently
    got = translate("Preview it in the timeline, then click Export. Preview it in the player again.")
    assert got.actions == (SHOW, EXPORT)  # first-mention order, no repeats


def test_translation_is_stable() -> None:
    for text, _, _ in TABLE:
        once = translate(text)
        twice = translate(once.text)
        assert twice.text == once.text
        assert twice.actions == ()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "click",
                "the",
                "Export",
                "button",
                "drag",
                "onto",
                "timeline",
                "preview",
                "in",
                "open",
                "panel",
                "点击",
                "导出",
                "按钮",
                "拖到",
                "时间线",
                "预览",
                "打开",
                "。",
                ",",
                "and",
                "to",
                "download",
                "Regenerate",
            ]
        )
        | st.text(max_size=8),
        max_size=15,
    ).map(" ".join)
)
def test_translate_never_raises(text: str) -> None:
    got = translate(text)
    assert isinstance(got.text, str)
    ops = [a.op for a in got.actions]
    assert len(ops) == len(set(ops))


NOTICE = "I encountered a temporary issue. Please try again in a moment."


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["Done! I added music.", NOTICE], ["Done! I added music."]),
        (["Done!", NOTICE, "Sorry, I ran into a temporary problem."], ["Done!"]),
        (["Done!", NOTICE, "  "], ["Done!"]),
        ([NOTICE], [NOTICE]),  # nothing normal before it: the notice is the outcome
        (["", NOTICE], ["", NOTICE]),
        ([NOTICE, "Here is your video."], [NOTICE, "Here is your video."]),  # not trailing
        (["Added a title.\n\nI encountered a temporary issue."], ["Added a title."]),
        (["视频已生成。", "抱歉，我遇到了临时问题，请稍后再试。"], ["视频已生成。"]),
        (["Done!"], ["Done!"]),
        ([], []),
    ],
)
def test_strip_temporary_issue(texts: list[str], expected: list[str]) -> None:
    original = list(texts)
    assert strip_temporary_issue(texts) == expected
    assert texts == original  # the input is not modified


def test_a_long_answer_mentioning_a_temporary_issue_is_kept() -> None:
    long_answer = "Here is what happened: " + "details " * 60 + "- the temporary issue with the CDN is fixed."
    assert strip_temporary_issue(["Done!", long_answer]) == ["Done!", long_answer]
