"""The user-facing text of an error: message and hint read as whole sentences."""

from __future__ import annotations

import pytest

from free_generation_image.errors import FGIError, InvalidInput, as_sentence


@pytest.mark.parametrize(
    ("message", "hint", "text"),
    [
        (
            "token has expired",
            "The NemoVideo token is refreshed automatically; try again.",
            "token has expired. The NemoVideo token is refreshed automatically; try again.",
        ),
        ("Nothing to export yet.", "Generate first.", "Nothing to export yet. Generate first."),
        ("Are you sure?", "Add --yes.", "Are you sure? Add --yes."),
        ("Still rendering…", "Wait.", "Still rendering… Wait."),
        ('The backend said "no."', "Try later.", 'The backend said "no." Try later.'),
        ("The upload failed (HTTP 500)", "Try again.", "The upload failed (HTTP 500). Try again."),
        ("积分不足", "请充值。", "积分不足。请充值。"),
        ("积分不足。", "Top up here: https://x.test", "积分不足。Top up here: https://x.test"),
        ("生成失败！", "请重试。", "生成失败！请重试。"),
        ("Reason:", "see the log.", "Reason: see the log."),
        ("  spaced out  ", "  Next.  ", "spaced out. Next."),
        ("No hint here", "", "No hint here"),
        ("", "Only a hint.", "Only a hint."),
    ],
)
def test_message_and_hint_are_joined_as_sentences(message: str, hint: str, text: str) -> None:
    assert FGIError(message, hint=hint).user_text() == text


def test_default_hint_and_subclasses_follow_the_same_rule() -> None:
    class Expired(FGIError):
        default_hint = "A new token is requested automatically."

    assert Expired("token has expired").user_text() == (
        "token has expired. A new token is requested automatically."
    )
    assert InvalidInput("bad", hint="Use 1-60.", argument="duration_s").user_text() == "bad. Use 1-60."


@pytest.mark.parametrize(
    ("text", "sentence"),
    [("done", "done."), ("done.", "done."), ("完成", "完成。"), ("(done)", "(done)."), ("", "")],
)
def test_as_sentence(text: str, sentence: str) -> None:
    assert as_sentence(text) == sentence
