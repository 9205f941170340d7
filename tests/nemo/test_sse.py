"""The incremental SSE decoder (pure): framing rules and chunks cut anywhere."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from free_generation_image.nemo.sse import EventTooLarge, SSEDecoder


def decode(*chunks: str) -> list[str]:
    decoder = SSEDecoder()
    out: list[str] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.close()


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        ('data: {"a":1}\n\n', ['{"a":1}']),
        ('data:{"a":1}\n\n', ['{"a":1}']),  # the space after the colon is optional
        ("data:  two spaces\n\n", [" two spaces"]),  # only one space is removed
        ("data: a\ndata: b\n\n", ["a\nb"]),  # multi-line data joins with \n
        ("data:\n\n", [""]),  # empty data: a keep-alive
        (": ping\n\n", [""]),  # a comment: a keep-alive too
        (":\n", [""]),
        ("event: ping\n\n", [""]),  # a named event without data
        ("id: 7\nretry: 100\n\n", []),  # nothing to deliver
        ("data: a\r\n\r\ndata: b\r\rdata: c\n\n", ["a", "b", "c"]),  # CRLF, CR and LF line ends
        ("\n\n\ndata: x\n\n\n", ["x"]),  # stray blank lines
        ("data: unterminated", ["unterminated"]),  # EOF without the blank line still delivers
        ("data: a\n", ["a"]),
        ("data", [""]),  # a field name alone
        ("unknown: field\n\n", []),
        ('data: {"text":"… 中文 🎬"}\n\n', ['{"text":"… 中文 🎬"}']),
    ],
)
def test_framing(stream: str, expected: list[str]) -> None:
    assert decode(stream) == expected


STREAM = 'data: {"x":"…"}\r\n\r\n: ping\n\ndata:\n\ndata: a\ndata: b\r\rdata: last\n\n'
EXPECTED = ['{"x":"…"}', "", "", "a\nb", "last"]


def test_every_two_chunk_cut() -> None:
    for cut in range(len(STREAM) + 1):
        assert decode(STREAM[:cut], STREAM[cut:]) == EXPECTED, cut


def test_single_characters() -> None:
    assert decode(*STREAM) == EXPECTED


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_cuts(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(STREAM)]
    assert decode(*(STREAM[a:b] for a, b in itertools.pairwise(points))) == EXPECTED


def test_cr_at_chunk_end_then_lf() -> None:
    """A CRLF split across chunks is one line end, not two (which would end the event early)."""
    assert decode("data: a\r", "\ndata: b\n\n") == ["a\nb"]


def test_oversized_event_is_refused() -> None:
    decoder = SSEDecoder(max_event_chars=100)
    with pytest.raises(EventTooLarge):
        decoder.feed("data: " + "x" * 200)
    decoder = SSEDecoder(max_event_chars=100)
    many_lines = "data: xxxxxxxx\n" * 30  # each line short, the event too long
    with pytest.raises(EventTooLarge):
        decoder.feed(many_lines)


def test_many_events_in_one_chunk() -> None:
    assert decode("".join(f"data: {i}\n\n" for i in range(1000))) == [str(i) for i in range(1000)]
