"""What we send to the agent: explicit instructions, language, kind, cost guess, retry key."""

from __future__ import annotations

import pytest

from free_generation_image.prompting import (
    compose_message,
    detect_language,
    estimate_cost,
    infer_kind,
    prompt_key,
)


@pytest.mark.parametrize(
    ("prompt", "kind"),
    [
        ("generate an image of a futuristic city at night", "image"),
        ("a poster for a jazz night", "image"),
        ("画一张猫的图片", "image"),
        ("make a 10 second video of waves", "video"),
        ("生成一个海浪的视频", "video"),
        ("a cat surfing", None),
        ("an animated image", None),
    ],
)
def test_infer_kind(prompt: str, kind: str | None) -> None:
    assert infer_kind(prompt) == kind


def test_language_prefers_configuration_then_script() -> None:
    assert detect_language("a cat", "ja") == "ja"
    assert detect_language("一只猫", None) == "zh"
    assert detect_language("a cat", None) == "en"


def test_compose_message_makes_options_explicit() -> None:
    assert compose_message("a cat") == "a cat\n\n[Request: Generate a still image (not a video).]"
    assert compose_message("a video of a cat") == "a video of a cat"
    message = compose_message("a cat", kind="video", aspect_ratio="9:16", duration_s=8)
    assert message.startswith("a cat\n\n[Request: ")
    assert (
        "Generate a video clip" in message
        and "aspect ratio 9:16" in message
        and "duration 8 seconds" in message
    )
    image = compose_message("a cat", kind="image", duration_s=8)
    assert "still image" in image and "duration" not in image


def test_estimate_cost() -> None:
    assert estimate_cost("an image of a cat") == 30
    assert estimate_cost("a cat", kind="image") == 30
    assert estimate_cost("a cat") == 30  # image first: a prompt naming no kind makes an image
    assert estimate_cost("a clip of a cat") == 100
    assert estimate_cost("a cat", kind="video") == 100  # one clip, whatever duration was asked


def test_prompt_key_ignores_case_width_and_spacing() -> None:
    assert prompt_key("  A  Cat\tSurfing ") == prompt_key("a cat surfing")
    assert prompt_key("ＡＢＣ") == prompt_key("abc")
    assert prompt_key("a cat") != prompt_key("a dog")
