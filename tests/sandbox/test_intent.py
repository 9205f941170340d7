"""Reading a message the way an agent would (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from free_generation_image.sandbox.intent import (
    ASPECT_RATIOS,
    Edit,
    aspect_ratio,
    duration_s,
    is_edit,
    media_kind,
    read_edits,
    read_intent,
    subject_of,
    title_of,
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Generate an image of a red fox", "image"),
        ("a photo of the beach at night", "image"),
        ("poster for a jazz night", "image"),
        ("请生成一张图片：雪地里的狐狸", "image"),
        ("画一只猫", "image"),
        ("make a video of a fox", "video"),
        ("a clip of waves", "video"),
        ("生成一段动画", "video"),  # 动画 is animation, not 画 (drawing)
        ("画面里有一只猫，生成视频", "video"),  # 画面 is "the frame"
        ("Generate an image, not a video: a cat", "image"),
        ("No image please, a video of the sea", "video"),
        ("Create a video of a photo studio", "video"),
        ("sunset over the sea", "video"),  # default
    ],
)
def test_media_kind(text: str, kind: str) -> None:
    assert media_kind(text) == kind


@pytest.mark.parametrize(
    ("text", "ratio"),
    [
        ("a 9:16 video", "9:16"),
        ("16:9 please, or 1:1", "16:9"),
        ("竖屏 9：16 的视频", "9:16"),
        ("4:3", "4:3"),
        ("3:4 portrait", "3:4"),
        ("at 10:30 in the morning", "16:9"),
        ("116:9", "16:9"),
        ("nothing", "16:9"),
    ],
)
def test_aspect_ratio(text: str, ratio: str) -> None:
    assert aspect_ratio(text) == ratio


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("a 10 s video", 10.0),
        ("a 10-second clip", 10.0),
        ("8 seconds long", 8.0),
        ("2.5s", 2.5),
        ("3 secs", 3.0),
        ("生成一段3秒的视频", 3.0),
        ("60 seconds", 15.0),
        ("0.2 s", 1.0),
        ("5 sunsets over the sea", 5.0),  # "5 s..." is not a duration
        ("16:9 sunset", 5.0),
        ("no duration", 5.0),
    ],
)
def test_duration(text: str, seconds: float) -> None:
    assert duration_s(text) == seconds


@pytest.mark.parametrize(
    ("text", "edits"),
    [
        ("add music", (Edit("add_music"),)),
        ("加音乐", (Edit("add_music"),)),
        ("remove the music please", (Edit("remove_music"),)),
        ("make the music louder", (Edit("music_louder"),)),
        ("make the title red", (Edit("title_color", "red"),)),
        ("把标题改成红色", (Edit("title_color", "red"),)),
        ('change the title to "Hello World"', (Edit("title_text", "Hello World"),)),
        ("标题改成「你好」", (Edit("title_text", "你好"),)),
        ("add music and make the title gold", (Edit("add_music"), Edit("title_color", "gold"))),
        ("make it brighter", (Edit("effect", "make it brighter"),)),
    ],
)
def test_edits(text: str, edits: tuple[Edit, ...]) -> None:
    assert is_edit(text)
    assert read_edits(text) == edits


@pytest.mark.parametrize(
    "text", ["Generate a video of a fox", "make a video with music", "生成一张海报", "a cat"]
)
def test_generation_is_not_an_edit(text: str) -> None:
    assert not is_edit(text)


def test_edit_needs_a_draft() -> None:
    assert read_intent("add music", has_draft=True).kind == "edit"
    assert read_intent("add music", has_draft=False).kind == "video"


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        ("Generate one 9:16 image of a red fox in the snow", "a red fox in the snow"),
        ("Create a video (16:9, 5 s): waves at night.", "waves at night"),
        ("make a 3 s video of a fox", "a fox"),
        ("请生成一张16：9的图片：雪地里的狐狸", "雪地里的狐狸"),
        ("生成一段动画，一只猫在跳舞", "一只猫在跳舞"),
        ("生成一段动画，3秒", "生成一段动画"),
        ("make a sunset video", "make a sunset video"),
        ("", "Untitled"),
    ],
)
def test_subject(text: str, subject: str) -> None:
    assert subject_of(text) == subject


def test_title_is_short() -> None:
    assert title_of("a red fox running through deep snow at golden hour") == "A red fox running through deep"
    assert (
        title_of("一只在雪地里奔跑的红色狐狸在金色的黄昏") == "一只在雪地里奔跑的红色…"
    )  # 12 characters with the ellipsis


@given(st.text(max_size=300))
def test_any_text_reads_to_a_valid_intent(text: str) -> None:
    for has_draft in (False, True):
        intent = read_intent(text, has_draft=has_draft)
        assert intent.aspect_ratio in ASPECT_RATIOS
        assert 1.0 <= intent.duration_s <= 15.0
        assert intent.subject and len(intent.subject) <= 200 and len(intent.title) <= 48
        assert (intent.kind == "edit") == bool(intent.edits)
        assert has_draft or intent.kind != "edit"


def test_a_clients_bracketed_instruction_line_is_not_the_subject() -> None:
    intent = read_intent(
        "A red fox in the snow\n\n[Request: Generate a still image (not a video), aspect ratio 9:16.]",
        has_draft=False,
    )
    assert (intent.kind, intent.aspect_ratio, intent.title) == ("image", "9:16", "A red fox in the snow")
