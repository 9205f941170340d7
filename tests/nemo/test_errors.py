"""nemo.errors: backend messages reach people clean, whichever way the error was built."""

from __future__ import annotations

import json

import pytest

from free_generation_image.nemo.envelope import unwrap
from free_generation_image.nemo.errors import (
    AuthError,
    BackendUnavailable,
    InsufficientCredits,
    NemoError,
    RateLimited,
    RenderFailed,
    error_from,
)

HOSTILE = "token \x1b]0;pwned\x07has\x1b[2J expired\x07\r\n\u202eagain\u2069\x9b31m"
SAFE = "token has expired again"
UNSAFE = frozenset([chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7F, 0xA0)] + ["\u202e", "\u2069"])


@pytest.mark.parametrize(
    ("code", "status", "kind", "message"),
    [
        (1001, 200, AuthError, SAFE),
        (2001, 200, InsufficientCredits, f"Not enough credits: {SAFE}"),
        (None, 429, RateLimited, SAFE),
        (None, 502, BackendUnavailable, SAFE),
        (None, 418, NemoError, SAFE),
    ],
)
def test_error_from_cleans_the_backend_message(
    code: int | None, status: int, kind: type[NemoError], message: str
) -> None:
    err = error_from(code=code, status=status, message=HOSTILE)
    assert type(err) is kind
    assert err.message == str(err) == message
    assert not UNSAFE & set(err.user_text())


def test_a_message_of_escapes_only_falls_back_to_the_status() -> None:
    assert error_from(code=None, status=503, message="\x1b[2J\x07").message == "HTTP 503"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"code": 1001, "message": HOSTILE}),
        (401, {"code": 1001, "msg": HOSTILE}),
        (200, {"success": False, "error": {"message": HOSTILE}}),
        (500, {"detail": HOSTILE}),
    ],
)
def test_envelope_errors_are_clean(status: int, body: dict[str, object]) -> None:
    with pytest.raises(NemoError) as caught:
        unwrap(status, json.dumps(body).encode())
    assert caught.value.message == SAFE
    assert not UNSAFE & set(caught.value.user_text())


def test_errors_built_elsewhere_from_backend_text_are_clean_too() -> None:
    # e.g. exporting.py puts the render's own failure reason into the message.
    err = RenderFailed(f"The render failed twice (last error: {HOSTILE}).")
    assert err.message == f"The render failed twice (last error: {SAFE})."
    assert NemoError("x", hint="Retry \x1b[5min a\x07 minute.").hint == "Retry in a minute."
