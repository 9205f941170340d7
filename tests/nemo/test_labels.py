"""nemo.labels: which strings are names a person gave, and which are ids a machine made."""

from __future__ import annotations

import pytest

from free_generation_image.nemo.labels import file_label, is_generic_track_name, is_id, name_label, src_name


@pytest.mark.parametrize(
    "text",
    [
        "3f2a9c1e8b7d6a5f4e3d",  # the sandbox's digest
        "0b1f7c52-8a3e-4c1d-9f2b-7e6d5c4b3a21",
        "gen_9f86d081884c7d65",
        "aZ3kQ9xY7mN2pL5vR8tB",  # base62
        "V1StGXR8_Z5jdHi6B-myT",  # nanoid
        "1712345678",  # a timestamp
        "trk_2",
        "seg-3",
        "gm_1",
        "asset_12_3",
    ],
)
def test_machine_made_ids(text: str) -> None:
    assert is_id(text)


@pytest.mark.parametrize(
    "text",
    ["Neon Harbor", "IMG_1234", "MyHolidayVideo2023", "Lo-fi", "clip_final_v2", "红色狐狸", "2024", "cafe"],
)
def test_names_people_give(text: str) -> None:
    assert not is_id(text)


def test_an_id_of_the_draft_is_not_a_name_in_any_case() -> None:
    assert is_id("Opening", frozenset({"opening"}))
    assert name_label("OPENING", frozenset({"opening"})) is None
    assert name_label("  Neon\n Harbor\x1b[2J ") == "Neon Harbor"
    assert name_label("\x07\u202e") is None


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("https://cdn.test/u/Neon%20Harbor.mp4?sig=abc#t=1", "Neon Harbor.mp4"),
        ("/mnt/userdata/u1/Neon Harbor.mp4", "Neon Harbor.mp4"),
        ("C:\\Users\\me\\Neon Harbor.mp4", "Neon Harbor.mp4"),
        ("asset://video/Neon Harbor.mp4", "Neon Harbor.mp4"),
        ("https://cdn.test/media/3f2a9c1e8b7d6a5f4e3d.mp4", None),
        ("https://cdn.test/media/seg_2.mp4", None),
        ("data:video/mp4;base64,AAAA", None),
        ("https://cdn.test/", None),  # a host is not a file name
        ("", None),
        (None, None),
    ],
)
def test_file_label(src: str | None, expected: str | None) -> None:
    assert file_label(src) == expected


def test_src_name_is_the_raw_last_segment() -> None:
    assert src_name("https://cdn.test/media/3f2a9c1e8b7d6a5f4e3d.mp4") == "3f2a9c1e8b7d6a5f4e3d.mp4"
    assert src_name("blob:https://x/abc") is None


@pytest.mark.parametrize(
    ("name", "generic"),
    [
        ("Video", True),
        ("BGM", True),
        ("video track", True),
        ("Title", True),
        ("视频轨道", True),
        ("背景音乐", True),
        ("Neon Harbor", False),
        ("Video 2", False),  # numbered by the draft itself: kept
        ("Music for the intro", False),
    ],
)
def test_generic_track_names(name: str, generic: bool) -> None:
    assert is_generic_track_name(name) is generic
