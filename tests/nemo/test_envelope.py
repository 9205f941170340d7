"""The three envelopes, error mapping by code then status, and Retry-After parsing (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from free_generation_image.nemo import envelope
from free_generation_image.nemo.errors import (
    AuthError,
    BackendUnavailable,
    BadResponse,
    FileTooLarge,
    InsufficientCredits,
    NemoError,
    PlanRequired,
    RateLimited,
    SessionNotFound,
    UnsupportedFileType,
)


def j(value: Any) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, j({"code": 0, "data": {"a": 1}}), {"a": 1}),
        (200, j({"code": 0, "message": "success", "data": [1, 2]}), [1, 2]),
        (200, j({"code": "0", "data": "x"}), "x"),  # a numeric string code
        (200, j({"code": 0}), None),  # success without data
        (200, j({"success": True, "data": {"id": "r"}}), {"id": "r"}),
        (200, j({"success": True, "id": "r"}), {"success": True, "id": "r"}),  # no data: the body
        (200, j({"taskId": "r", "status": "completed"}), {"taskId": "r", "status": "completed"}),  # raw
        (201, j({"code": 0, "data": 1}), 1),
        (200, j([1, 2]), [1, 2]),
    ],
)
def test_success_shapes(status: int, body: bytes, expected: Any) -> None:
    assert envelope.unwrap(status, body) == expected


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (200, j({"code": 1001, "message": "expired"}), AuthError, 1001),
        (401, j({"code": 1001, "message": "expired"}), AuthError, 1001),
        (401, b"", AuthError, None),
        (403, j({"detail": "Forbidden"}), AuthError, None),
        (200, j({"code": 1002, "message": "gone"}), SessionNotFound, 1002),
        (404, j({"detail": "Session not found: 1"}), SessionNotFound, None),
        (404, j({"detail": "Not Found"}), NemoError, None),  # a missing route is not a lost session
        (200, j({"code": 2001, "message": "no credits"}), InsufficientCredits, 2001),
        (402, j({"code": 2001, "message": "no credits"}), InsufficientCredits, 2001),  # code beats status
        (402, j({"success": False, "error": "plan"}), PlanRequired, None),
        (402, b"", PlanRequired, None),
        (200, j({"code": 4001, "message": "type"}), UnsupportedFileType, 4001),
        (413, j({"code": 4002, "message": "big"}), FileTooLarge, 4002),
        (429, j({"detail": "slow down"}), RateLimited, None),
        (500, j({"code": 500, "message": "boom"}), BackendUnavailable, 500),
        (502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", BackendUnavailable, None),
        (408, b"", BackendUnavailable, None),
        (200, j({"success": False, "error": "invalid draft"}), NemoError, None),
        (200, j({"code": 7777, "message": "odd"}), NemoError, 7777),
        (200, b'{"code": 0, "data": ', BadResponse, None),
        (200, b"<html>login</html>", BadResponse, None),
        (200, b"", BadResponse, None),
        (200, j({"code": "weird"}), BadResponse, None),
    ],
)
def test_error_mapping(status: int, body: bytes, error: type[NemoError], code: int | None) -> None:
    with pytest.raises(NemoError) as info:
        envelope.unwrap(status, body)
    assert type(info.value) is error
    assert info.value.code == code
    assert "<" not in info.value.message


def test_error_messages_are_short_and_clean() -> None:
    with pytest.raises(BackendUnavailable) as info:
        envelope.unwrap(502, b"<html>" + b"x" * 5000 + b"</html>")
    assert info.value.message == "HTTP 502 Bad Gateway"
    with pytest.raises(NemoError) as info2:
        envelope.unwrap(400, j({"message": "line one\nline two\t" + "y" * 1000}))
    assert "\n" not in info2.value.message
    assert len(info2.value.message) <= envelope.MAX_MESSAGE_CHARS


def test_fastapi_validation_detail_is_summarised() -> None:
    body = j(
        {
            "detail": [
                {"loc": ["body", "session_id"], "msg": "Field required", "type": "missing"},
                {"loc": ["body", "new_message", "parts"], "msg": "Input should be a list"},
            ]
        }
    )
    with pytest.raises(NemoError) as info:
        envelope.unwrap(422, body)
    assert info.value.message == (
        "Invalid request: session_id: Field required; new_message.parts: Input should be a list"
    )
    assert info.value.status == 422


def test_insufficient_credits_links_anonymous_users_to_registration() -> None:
    with pytest.raises(InsufficientCredits) as info:
        envelope.unwrap(200, j({"code": 2001, "message": "x"}), user_id="anon_42", web_url="https://web.test")
    assert "https://web.test/register?bind=anon_42" in info.value.hint


def test_rate_limit_carries_retry_after() -> None:
    with pytest.raises(RateLimited) as info:
        envelope.unwrap(429, b"", retry_after=7.0)
    assert info.value.retry_after == 7.0
    with pytest.raises(RateLimited) as default:
        envelope.unwrap(429, b"")
    assert default.value.retry_after == 30.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("12", 12.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("soon", None),
        ("nan", None),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),  # an HTTP-date, 10 s after "now"
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past
    ],
)
def test_retry_after_seconds(header: str | None, expected: float | None) -> None:
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert envelope.retry_after_seconds(header, now=now) == expected
