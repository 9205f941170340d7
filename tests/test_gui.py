"""gui.translate / gui.strip_temporary_issue: the backend's GUI talk, rewritten for a chat (EN + ZH)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from free_generation_image.gui import EXPORT, REGENERATE, SHOW, strip_temporary_issue, translate

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
