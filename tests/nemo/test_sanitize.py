"""nemo.sanitize: backend text loses terminal escapes, control and bidi characters, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from free_generation_image.nemo.sanitize import clean, clean_line

ESC, BEL, ST = "\x1b", "\x07", "\x1b\\"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # OSC: window title, hyperlink, clipboard write; BEL- and ST-terminated, 7- and 8-bit.
        (f"Done!{ESC}]0;pwned{BEL} Your video is ready.", "Done! Your video is ready."),
        (f"{ESC}]2;title{ST}ok", "ok"),
        (f"{ESC}]8;;https://evil.test{ST}click{ESC}]8;;{ST}", "click"),
        (f"{ESC}]52;c;cm0gLXJmIH4={BEL}copied", "copied"),
        ("\x9d0;title\x9cok", "ok"),
        # CSI: clear screen, cursor moves, colours, private modes; 7- and 8-bit.
        (f"{ESC}[2J{ESC}[HHello", "Hello"),
        (f"{ESC}[1;31mred{ESC}[0m text", "red text"),
        (f"{ESC}[?1049h{ESC}[?25lhidden", "hidden"),
        ("\x9b2Jcleared", "cleared"),
        # DCS / APC / PM / SOS strings and two-byte escapes (ESC c = full reset, ESC 7 = save cursor).
        (f"{ESC}Pq#0;2;0;0;0{ST}sixel", "sixel"),
        (f"{ESC}_Gf=100;AAAA{ST}kitty", "kitty"),
        (f"{ESC}cReset{ESC}7", "Reset"),
        (f"{ESC}(Bcharset", "charset"),
        # Bare controls: BEL, backspace, NUL, vertical tab, form feed, DEL, C1.
        (f"ding{BEL}{BEL}", "ding"),
        ("pass\bword\x00\x0b\x0c\x7f", "password"),
        ("a\x85b\x84c\x9ad", "abcd"),
        ("\x9fapc data\x9cok", "ok"),
        # Bidi overrides, embeddings, isolates and marks (Trojan Source): text reads as it is.
        ("safe\u202eexe.txt", "safeexe.txt"),
        ("\u2066admin\u2069 \u2067x\u2068y", "admin xy"),
        ("\u202a\u202b\u202c\u202d\u200e\u200f\u061cplain", "plain"),
        # Lone surrogates (a JSON string may carry them) would crash a UTF-8 write.
        ("a\ud800b\udfffc", "abc"),
        # An escape left open at the end of a piece, or open until the line ends.
        (f"tail{ESC}", "tail"),
        (f"tail{ESC}[", "tail"),
        (f"tail{ESC}[12", "tail12"),
        (f"title {ESC}]0;never closed\nnext line", "title \nnext line"),
        # Kept: newlines, tabs, CJK, emoji with joiners, accents; CR becomes LF.
        ("line 1\r\nline 2\rline 3\tend", "line 1\nline 2\nline 3\tend"),
        ("一只狐狸 👩\u200d💻 café", "一只狐狸 👩\u200d💻 café"),
        ("", ""),
    ],
)
def test_clean(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_clean_returns_clean_text_itself() -> None:
    text = "Nothing to remove here: 时间线 ✓"
    assert clean(text) is text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Neon\nHarbor", "Neon Harbor"),
        (f"  {ESC}]0;x{BEL}Neon \t Harbor{ESC}[2J  ", "Neon Harbor"),
        ("a\u2028b\u2029c", "a b c"),
        ("\u202eroboH noeN", "roboH noeN"),
        ("", ""),
    ],
)
def test_clean_line(raw: str, expected: str) -> None:
    assert clean_line(raw) == expected


UNSAFE = frozenset(
    [chr(c) for c in range(0x20) if chr(c) not in "\n\t"]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + ["\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]
)
PIECES = st.sampled_from(
    [
        ESC,
        "[",
        "]",
        "0;",
        "2J",
        "31m",
        BEL,
        "\\",
        "P",
        "\x9b",
        "\x9d",
        "\x9c",
        "\u202e",
        "\r",
        "\n",
        "ok",
        "狐",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES | st.text(max_size=4), max_size=20).map("".join), st.data())
def test_nothing_unsafe_survives_even_across_chunks(text: str, data: st.DataObject) -> None:
    """Cleaning each stream chunk on its own is enough: their concatenation has no control either."""
    cut = data.draw(st.integers(0, len(text)))
    for shown in (clean(text), clean(text[:cut]) + clean(text[cut:])):
        assert not UNSAFE & set(shown)
    assert clean(clean(text)) == clean(text)
    assert "\n" not in clean_line(text)
