"""nemo.timeline: tolerant draft parsing, the one-line summary, readiness and state diffs."""

from __future__ import annotations

import copy
import json
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from free_generation_image.changes import diff_states
from free_generation_image.nemo.labels import LABEL_WIDTH, clean_label
from free_generation_image.nemo.timeline import (
    Draft,
    Segment,
    Track,
    is_ready,
    parse_draft,
)
from free_generation_image.timeline_words import EMPTY_SUMMARY, seconds, summarize

# The shape the sandbox emits (ARCHITECTURE.md "Data shapes"); only t/tt/sg/d/m are documented.
DRAFT: dict[str, Any] = {
    "t": [
        {
            "id": "v1",
            "tt": 0,
            "n": "Video",
            "sg": [
                {
                    "id": "c1",
                    "s": 0,
                    "d": 10000,
                    "src": "https://cdn.test/clips/sunset_beach.mp4",
                    "kind": "video",
                    "n": "Sunset over the beach",
                },
            ],
        },
        {"id": "a1", "tt": 1, "n": "BGM", "sg": [{"id": "m1", "s": 0, "d": 10000, "v": 0.35, "n": "Lo-fi"}]},
        {
            "id": "t1",
            "tt": 7,
            "sg": [
                {"id": "x1", "s": 0, "d": 3000, "txt": "Urban Dreams", "sty": "neon blue, fade-in"},
            ],
        },
    ],
    "d": 10000,
    "m": {"title": "Urban Dreams", "width": 1920, "height": 1080, "fps": 30},
}


# ------------------------------------------------------------------------------------------ parsing


def test_parse_the_sandbox_shape() -> None:
    draft = parse_draft(DRAFT)
    assert draft is not None
    assert (draft.duration_ms, draft.title, draft.width, draft.height, draft.fps) == (
        10000,
        "Urban Dreams",
        1920,
        1080,
        30,
    )
    assert [t.kind for t in draft.tracks] == ["video", "audio", "text"]
    assert [t.title for t in draft.tracks] == ["Video", "BGM", "Title"]
    assert draft.tracks[1].segments[0] == Segment(
        id="m1", start_ms=0, duration_ms=10000, volume=0.35, label="Lo-fi"
    )
    assert draft.tracks[2].segments[0].text == "Urban Dreams"


def test_parse_only_the_documented_keys() -> None:
    draft = parse_draft({"t": [{"tt": 0, "sg": [{}, {}]}, {"tt": 1, "sg": []}], "d": 5000})
    # Without durations only the first start is known (0); nothing is made up for the second one.
    video = Track(code=0, segments=(Segment(start_ms=0), Segment()))
    assert draft == Draft(tracks=(video, Track(code=1)), duration_ms=5000)
    # Nothing names the track: it is called by its type and place in the draft, never a made-up word.
    assert summarize(draft) == "Timeline (1 track, 5s): 1. Video track 1 (from 0s, 2 clips)"


@pytest.mark.parametrize("raw", [None, 5, "not json", b"\xff\xfe", [], ["t"], True, 1.5])
def test_parse_rejects_non_drafts(raw: object) -> None:
    assert parse_draft(raw) is None


def test_parse_accepts_a_json_string() -> None:
    assert parse_draft(json.dumps(DRAFT)) == parse_draft(DRAFT)


def test_parse_skips_wrong_types() -> None:
    raw = {
        "t": [
            1,
            None,
            "x",
            {"tt": "1", "sg": "nope"},
            {"tt": True, "sg": [None, 3, {"s": "250", "d": -5}]},
            {"tt": 2.0, "sg": [{"s": float("nan"), "d": float("inf"), "v": "loud", "n": ["x"]}]},
            {"tt": 10**400, "sg": [{"d": 10**400, "id": 10**5000}]},
        ],
        "d": "oops",
        "m": ["not", "a", "map"],
    }
    draft = parse_draft(raw)
    assert draft is not None
    assert [t.code for t in draft.tracks] == [1, None, 2, None]
    assert draft.tracks[1].segments == (Segment(start_ms=250),)
    assert draft.tracks[2].segments == (Segment(start_ms=0),)
    assert draft.tracks[3].segments == (Segment(start_ms=0),)
    assert (draft.duration_ms, draft.title, draft.width) == (None, None, None)


def test_starts_are_inferred_back_to_back_when_missing() -> None:
    draft = parse_draft({"t": [{"tt": 0, "sg": [{"d": 2500}, {"d": 4500}, {"s": 9000, "d": 1000}]}]})
    assert draft is not None
    assert [s.start_ms for s in draft.tracks[0].segments] == [0, 2500, 9000]
    assert draft.total_ms == 10000  # no "d" on the draft: the latest end


# ------------------------------------------------------------------------------------------ summary


def test_summary_in_the_skill_format() -> None:
    assert summarize(parse_draft(DRAFT)) == (
        "Timeline (3 tracks, 10s): 1. Video: Sunset over the beach (0-10s) 2. BGM: Lo-fi (0-10s, 35%) "
        "3. Title: 'Urban Dreams' (0-3s, neon blue, fade-in)"
    )


@pytest.mark.parametrize("raw", [None, {}, {"t": []}, {"t": [{"tt": 0, "sg": []}]}, {"d": 10000}])
def test_empty_summary(raw: object) -> None:
    assert summarize(parse_draft(raw)) == EMPTY_SUMMARY


def test_summary_details() -> None:
    raw = {
        "t": [
            {
                "tt": 0,
                "sg": [{"s": 0, "d": 2500, "kind": "image", "src": "https://cdn.test/a/red%20fox.png?x=1"}],
            },
            {"tt": 1, "sg": [{"s": 0, "d": 1000, "v": 20}, {"s": 1000, "d": 1500, "v": 0.8}]},
            {"tt": 3, "n": "stickers", "sg": [{"s": 500, "d": 2000}]},
        ]
    }
    assert summarize(parse_draft(raw)) == (
        "Timeline (3 tracks, 2.5s): 1. Image: red fox.png (0-2.5s) "
        "2. Audio track 2 (0-2.5s, 2 clips, 20-80%) 3. track 3: stickers (0.5-2.5s)"
    )


def test_summary_is_one_safe_line_with_cjk_and_control_characters() -> None:
    label = "一只在雪地里奔跑的红色狐狸，电影感，黄金时刻光线，\n超高清细节\u202e，" * 3
    summary = summarize(parse_draft({"t": [{"tt": 0, "sg": [{"s": 0, "d": 4000, "n": label}]}], "d": 4000}))
    assert "\n" not in summary
    assert "\u202e" not in summary
    shown = summary.split("Video: ", 1)[1].rsplit(" (", 1)[0]
    assert shown.endswith("…")
    assert sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in shown) <= LABEL_WIDTH


# ------------------------------------------------------------------------------------------- labels

# Track 2 of every draft below: ids "trk_2"/"seg_2" and a file named after the id, as a backend may store
# media. A name is put in one documented place at a time (contract §5.1 and ARCHITECTURE.md data shapes).
_ID_FILE = "https://cdn.test/media/trk_2.mp4"


def _second_track(track: dict[str, Any] | None = None, **segment: Any) -> dict[str, Any]:
    """A draft whose second track is a 10-s video track with ``track`` keys and ``segment`` keys added."""
    clip = {"id": "seg_2", "s": 0, "d": 10000, "src": _ID_FILE, **segment}
    music = {"id": "trk_1", "tt": 1, "n": "BGM", "sg": [{"id": "seg_1", "s": 0, "d": 10000, "n": "Lo-fi"}]}
    return {"t": [music, {"id": "trk_2", "tt": 0, "sg": [clip], **(track or {})}], "d": 10000}


NAMED_PLACES: list[tuple[str, dict[str, Any], str]] = [
    ("track n", _second_track({"n": "Neon Harbor"}), "Video: Neon Harbor (0-10s)"),
    ("track name", _second_track({"name": "Neon Harbor"}), "Video: Neon Harbor (0-10s)"),
    ("track title", _second_track({"title": "Neon Harbor"}), "Video: Neon Harbor (0-10s)"),
    ("track m.name", _second_track({"m": {"name": "Neon Harbor"}}), "Video: Neon Harbor (0-10s)"),
    ("track m.title", _second_track({"m": {"title": "Neon Harbor"}}), "Video: Neon Harbor (0-10s)"),
    (
        "track metadata.name",
        _second_track({"metadata": {"name": "Neon Harbor"}}),
        "Video: Neon Harbor (0-10s)",
    ),
    ("segment n", _second_track(n="Neon Harbor"), "Video: Neon Harbor (0-10s)"),
    ("segment name", _second_track(name="Neon Harbor"), "Video: Neon Harbor (0-10s)"),
    ("segment title", _second_track(title="Neon Harbor"), "Video: Neon Harbor (0-10s)"),
    ("segment m.title", _second_track(m={"title": "Neon Harbor"}), "Video: Neon Harbor (0-10s)"),
    ("segment m.name", _second_track(m={"name": "Neon Harbor"}), "Video: Neon Harbor (0-10s)"),
    ("segment meta.label", _second_track(meta={"label": "Neon Harbor"}), "Video: Neon Harbor (0-10s)"),
    (
        "title segment txt",
        _second_track({"tt": 7}, txt="Neon Harbor", sty="neon blue", src=None),
        "Title: 'Neon Harbor' (0-10s, neon blue)",
    ),
    (
        "src URL path",
        _second_track(src="https://cdn.test/u/Neon%20Harbor.mp4?sig=trk_2"),
        "Video: Neon Harbor.mp4 (0-10s)",
    ),
    (
        "src sandbox path",
        _second_track(src="/mnt/userdata/u1/Neon Harbor.mp4"),
        "Video: Neon Harbor.mp4 (0-10s)",
    ),
    ("src camera file", _second_track(src="https://cdn.test/IMG_1234.MOV"), "Video: IMG_1234.MOV (0-10s)"),
    (
        "src long file name",
        _second_track(src="https://cdn.test/MyHolidayVideo2023.mp4"),
        "Video: MyHolidayVideo2023.mp4 (0-10s)",
    ),
    ("image track", _second_track(kind="image", src="https://cdn.test/fox.png"), "Image: fox.png (0-10s)"),
]


@pytest.mark.parametrize(("raw", "expected"), [p[1:] for p in NAMED_PLACES], ids=[p[0] for p in NAMED_PLACES])
def test_labels_come_from_where_the_draft_names_things(raw: dict[str, Any], expected: str) -> None:
    summary = summarize(parse_draft(raw))
    assert summary == f"Timeline (2 tracks, 10s): 1. BGM: Lo-fi (0-10s) 2. {expected}"
    assert "trk_" not in summary.replace("sig=trk_2", "")
    assert "seg_" not in summary


NAMELESS: list[tuple[str, dict[str, Any]]] = [
    ("nothing but ids", _second_track()),
    ("file named after the segment id", _second_track(src="https://cdn.test/seg_2.mp4")),
    ("digest file name", _second_track(src="https://cdn.test/media/3f2a9c1e8b7d6a5f4e3d.mp4")),
    ("uuid file name", _second_track(src="/mnt/userdata/u/0b1f7c52-8a3e-4c1d-9f2b-7e6d5c4b3a21.mp4")),
    ("prefixed digest", _second_track(src="https://cdn.test/gen_9f86d081884c7d65.png")),
    ("random token", _second_track(src="https://cdn.test/aZ3kQ9xY7mN2pL5vR8tB.mp4")),
    ("nanoid", _second_track(src="https://cdn.test/V1StGXR8_Z5jdHi6B-myT.png")),
    ("inline media", _second_track(src="data:video/mp4;base64,AAAAIGZ0eXBpc29t")),
    ("no src", _second_track(src=None)),
    ("generic track name", _second_track({"n": "Video"})),
    ("generic track title", _second_track({"m": {"title": "video track"}})),
    ("generic Chinese name", _second_track({"n": "视频轨道"})),
    ("name that is the track id", _second_track({"n": "trk_2"})),
    ("segment name that is an id", _second_track(n="SEG_2")),
    ("name made of controls", _second_track(n="\x1b[2J\u202e\x07")),
]


@pytest.mark.parametrize("raw", [p[1] for p in NAMELESS], ids=[p[0] for p in NAMELESS])
def test_a_track_named_nowhere_is_its_type_and_place(raw: dict[str, Any]) -> None:
    assert (
        summarize(parse_draft(raw))
        == "Timeline (2 tracks, 10s): 1. BGM: Lo-fi (0-10s) 2. Video track 2 (0-10s)"
    )


@pytest.mark.parametrize(
    ("track", "expected"),
    [
        ({"tt": 1, "sg": [{"s": 0, "d": 1000}]}, "Audio track 2 (0-1s)"),
        ({"tt": 7, "sg": [{"s": 0, "d": 1000}, {"s": 1000, "d": 1000}]}, "Text track 2 (0-2s, 2 titles)"),
        ({"tt": 0, "sg": [{"s": 0, "d": 1000, "kind": "image"}]}, "Image track 2 (0-1s)"),
        ({"tt": 5, "sg": [{"s": 0, "d": 1000}]}, "Track 2 (0-1s)"),
        ({"sg": [{"s": 0, "d": 1000}]}, "Track 2 (0-1s)"),
    ],
)
def test_nameless_tracks_of_every_type(track: dict[str, Any], expected: str) -> None:
    # The place is the track's place in the draft: an empty track before it still counts.
    raw = {"t": [{"tt": 0, "n": "Intro", "sg": []}, track], "d": 2000}
    assert summarize(parse_draft(raw)) == f"Timeline (1 track, 2s): 1. {expected}"


def test_which_name_wins() -> None:
    # The segment's own name, then (on a title track first) its text, then the track's name, then the file.
    both = _second_track(
        {"m": {"name": "Neon Harbor"}}, n="Harbor at dusk", src="https://cdn.test/harbor.mp4"
    )
    assert summarize(parse_draft(both)).endswith("2. Video: Harbor at dusk (0-10s)")
    track_and_file = _second_track({"m": {"name": "Neon Harbor"}}, src="https://cdn.test/harbor.mp4")
    assert summarize(parse_draft(track_and_file)).endswith("2. Video: Neon Harbor (0-10s)")
    title = _second_track({"tt": 7, "n": "Opening"}, n="Title 1", txt="Neon Harbor", src=None)
    assert summarize(parse_draft(title)).endswith("2. Title: 'Neon Harbor' (0-10s)")
    # A track named by its metadata with several clips: the name is the track's, the count a detail.
    raw = _second_track({"m": {"name": "Neon Harbor"}})
    raw["t"][1]["sg"].append({"id": "seg_3", "s": 10000, "d": 5000, "src": "https://cdn.test/seg_3.mp4"})
    assert summarize(parse_draft(raw)).endswith("2. Video: Neon Harbor (0-15s, 2 clips)")
    # A later clip's own name still names the track's content.
    raw["t"][1]["sg"][1]["n"] = "Pier"
    assert summarize(parse_draft(raw)).endswith("2. Video: Pier (+1 more) (0-15s)")


def test_labels_are_cleaned_backend_text() -> None:
    hostile = "\x1b]0;pwned\x07Neon\x1b[2J\r\nHarbor\u202e\u2066\x9b31m"
    for raw in (_second_track({"m": {"name": hostile}}), _second_track(n=hostile)):
        assert summarize(parse_draft(raw)).endswith("2. Video: Neon Harbor (0-10s)")
    styled = _second_track({"tt": 7}, txt=f"{hostile}!", sty="\x1b[5mred\x07", src=None)
    assert summarize(parse_draft(styled)).endswith("2. Title: 'Neon Harbor!' (0-10s, red)")


def test_diff_lines_use_the_same_labels() -> None:
    empty: dict[str, Any] = {"t": [], "d": 0}
    one: dict[str, Any] = {"t": [_second_track()["t"][1]], "d": 10000}
    assert diff_states(_state(draft=empty), _state(draft=one)).lines == [
        "Duration 0s → 10s",
        "Added Video track 1 (0-10s)",
    ]
    longer = copy.deepcopy(one)
    longer["t"][0]["sg"].append({"id": "seg_3", "s": 10000, "d": 5000})
    longer["d"] = 15000
    assert diff_states(_state(draft=one), _state(draft=longer)).lines == [
        "Duration 10s → 15s",
        "Changed Video track 1: 0-10s → 0-15s, 2 clips",
    ]
    named = copy.deepcopy(one)
    named["t"][0]["m"] = {"name": "Neon Harbor"}
    assert diff_states(_state(draft=one), _state(draft=named)).lines == [
        "Changed track Video: Video track 1 (0-10s) → Neon Harbor (0-10s)"
    ]
    assert diff_states(_state(draft=named), _state(draft=empty)).lines == [
        "Duration 10s → 0s",
        "Removed track Video: Neon Harbor (0-10s)",
    ]


def test_new_media_is_never_named_by_its_id() -> None:
    state = _state(
        generated_media=[
            {
                "id": "gm_7",
                "type": "image",
                "url": "https://cdn.test/media/9f86d081884c7d659a2f.png",
                "width": 8,
                "height": 8,
            },
            {"id": "gm_8", "type": "video", "url": "https://cdn.test/media/gm_8.mp4", "title": "Neon Harbor"},
            {"id": "gm_9", "type": "image", "url": "https://cdn.test/harbor.png"},
        ]
    )
    assert [line for line in diff_states(None, state).lines if line.startswith("New")] == [
        "New image (8x8)",
        "New video: Neon Harbor",
        "New image: harbor.png",
    ]


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("short", 40, "short"),
        ("a   b\tc\nd", 40, "a b c d"),
        ("abcdefghij", 5, "abcd…"),
        ("狐狸狐狸狐狸", 7, "狐狸狐…"),
        ("cafe\u0301s", 5, "cafe\u0301s"),
        ("cafe\u0301s and more", 5, "cafe\u0301…"),  # accents take no column
        ("👩\u200d💻👩\u200d💻", 4, "👩…"),  # no dangling joiner
        ("👩\u200d💻 dev", 40, "👩\u200d💻 dev"),  # ZWJ sequences survive
    ],
)
def test_clean_label(text: str, width: int, expected: str) -> None:
    assert clean_label(text, width) == expected


@pytest.mark.parametrize(
    ("ms", "text"), [(0, "0"), (10000, "10"), (2500, "2.5"), (3333, "3.3"), (59999, "60")]
)
def test_seconds(ms: float, text: str) -> None:
    assert seconds(ms) == text


# --------------------------------------------------------------------------------------- readiness


@pytest.mark.parametrize(
    ("raw", "raw_ready", "parsed_ready"),
    [
        (DRAFT, True, True),
        ({"t": [{"tt": 7, "sg": [{"txt": "only a title"}]}]}, True, True),
        ({"t": [{"tt": 0, "sg": []}, {"tt": 1}]}, False, False),
        ({"t": []}, False, False),
        ({}, False, False),
        ({"t": "yes"}, False, False),
        # The skill's rule looks at the raw list; the model only keeps segments it can read.
        ({"t": [{"sg": [1]}]}, True, False),
    ],
)
def test_is_ready(raw: dict[str, Any], raw_ready: bool, parsed_ready: bool) -> None:
    assert is_ready(raw) is raw_ready
    assert is_ready(parse_draft(raw)) is parsed_ready
    assert is_ready(None) is False


# -------------------------------------------------------------------------------------------- diff


def _state(**parts: Any) -> dict[str, Any]:
    return {
        "video_infos": [],
        "draft": {},
        "canvas_config": {},
        "video_analyses": {},
        "generated_media": [],
        **parts,
    }


BEFORE = _state(
    draft={"t": [DRAFT["t"][0]], "d": 5000},
    canvas_config={"width": 1920, "height": 1080, "ratio": "16:9"},
    generated_media=[{"id": "g1", "type": "video", "url": "https://cdn.test/g1.mp4", "prompt": "sunset"}],
)
AFTER = _state(
    draft=DRAFT,
    canvas_config={"width": 1080, "height": 1920, "ratio": "9:16"},
    generated_media=[
        {"id": "g1", "type": "video", "url": "https://cdn.test/g1.mp4", "prompt": "sunset"},
        {
            "id": "g2",
            "type": "image",
            "url": "https://cdn.test/g2.png",
            "prompt": "a red fox",
            "width": 1024,
            "height": 1024,
        },
    ],
    video_infos=[
        {
            "filename": "clip.mp4",
            "file_type": "video",
            "cdn_url": "https://cdn.test/clip.mp4",
            "duration": 30.5,
        },
        {"filename": "g2.png", "file_type": "image", "cdn_url": "https://cdn.test/g2.png"},
    ],
)


def test_diff_lines_and_new_media() -> None:
    diff = diff_states(BEFORE, AFTER)
    assert diff.changed
    assert diff.lines == [
        "Canvas 1920x1080 → 1080x1920",
        "Duration 5s → 10s",
        "Project name 'Urban Dreams'",
        "Added track BGM: Lo-fi (0-10s, 35%)",
        "Added track Title: 'Urban Dreams' (0-3s, neon blue, fade-in)",
        "New image: a red fox (1024x1024)",
        "New upload: clip.mp4 (video, 30.5s)",  # g2.png is the generated image, reported once
    ]
    assert diff.new_media == [AFTER["generated_media"][1]]


def test_diff_the_other_way() -> None:
    diff = diff_states(AFTER, BEFORE)
    assert diff.lines == [
        "Canvas 1080x1920 → 1920x1080",
        "Duration 10s → 5s",
        "Removed track BGM: Lo-fi (0-10s, 35%)",
        "Removed track Title: 'Urban Dreams' (0-3s, neon blue, fade-in)",
        "Removed image: a red fox (1024x1024)",
    ]
    assert diff.new_media == []


def test_no_change() -> None:
    reordered = dict(reversed(list(copy.deepcopy(AFTER).items())))
    diff = diff_states(AFTER, reordered)
    assert (diff.changed, diff.lines, diff.new_media) == (False, [], [])
    assert diff_states(None, None).changed is False
    assert diff_states({}, None).changed is False


def test_from_nothing() -> None:
    diff = diff_states(None, AFTER)
    assert diff.changed
    assert diff.lines[:2] == ["Canvas 1080x1920", "Duration 10s"]
    assert [m["id"] for m in diff.new_media] == ["g1", "g2"]


def test_changed_track_and_invisible_edits() -> None:
    longer = copy.deepcopy(BEFORE)
    longer["draft"]["t"][0]["sg"].append({"id": "c2", "s": 10000, "d": 5000, "n": "City at night"})
    assert diff_states(BEFORE, longer).lines == [
        "Changed track Video: Sunset over the beach (0-10s) → Sunset over the beach (+1 more) (0-15s)",
    ]
    resourced = copy.deepcopy(BEFORE)
    resourced["draft"]["t"][0]["sg"][0]["src"] = "https://cdn.test/clips/other.mp4"
    assert diff_states(BEFORE, resourced).lines == ["Timeline updated"]
    analysed = copy.deepcopy(BEFORE)
    analysed["video_analyses"] = {"c1": {"scenes": 3}}
    assert diff_states(BEFORE, analysed).lines == ["Updated video_analyses"]


def test_media_identity_is_id_then_url() -> None:
    old = _state(generated_media=[{"url": "https://cdn.test/a.png", "type": "image"}])
    same_url = _state(generated_media=[{"url": "https://cdn.test/a.png", "type": "image", "prompt": "x"}])
    new_url = _state(generated_media=[{"url": "https://cdn.test/b.png", "type": "image"}])
    assert diff_states(old, same_url).new_media == []
    assert diff_states(old, new_url).new_media == [{"url": "https://cdn.test/b.png", "type": "image"}]
    duplicated = _state(generated_media=[{"id": "x", "url": "u"}, {"id": "x", "url": "u"}])
    assert len(diff_states(None, duplicated).new_media) == 1


# ------------------------------------------------------------------------------------- properties

SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12)
JSON = st.recursive(
    SCALAR,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=10,
)
# Draft-shaped values with wrong types sprinkled in, so parsing gets past the first isinstance check.
LEAF = SCALAR | st.lists(SCALAR, max_size=2)
SEGMENT = st.dictionaries(
    st.sampled_from(["id", "s", "d", "src", "v", "txt", "sty", "n", "kind"]), LEAF, max_size=6
)
TRACK = st.fixed_dictionaries(
    {},
    optional={
        "id": LEAF,
        "tt": st.sampled_from([0, 1, 7, 3, "0", None]) | LEAF,
        "n": LEAF,
        "sg": st.lists(SEGMENT | LEAF, max_size=3) | LEAF,
    },
)
DRAFTISH = st.fixed_dictionaries(
    {}, optional={"t": st.lists(TRACK | LEAF, max_size=3) | LEAF, "d": LEAF, "m": JSON}
)
STATE = st.fixed_dictionaries(
    {},
    optional={
        "draft": DRAFTISH | JSON,
        "canvas_config": st.fixed_dictionaries({}, optional={"width": LEAF, "height": LEAF, "ratio": LEAF}),
        "generated_media": st.lists(
            st.dictionaries(st.sampled_from(["id", "url", "type", "prompt", "duration"]), LEAF, max_size=5)
            | LEAF,
            max_size=3,
        ),
        "video_infos": st.lists(
            st.dictionaries(st.sampled_from(["filename", "cdn_url", "file_type"]), LEAF, max_size=3) | LEAF,
            max_size=3,
        ),
        "video_analyses": JSON,
    },
)


@settings(max_examples=200, deadline=None)
@given(DRAFTISH | JSON)
def test_parse_and_summarize_never_raise(raw: object) -> None:
    draft = parse_draft(raw)
    summary = summarize(draft)
    assert "\n" not in summary
    assert is_ready(draft) is (summary != EMPTY_SUMMARY)


@settings(max_examples=200, deadline=None)
@given(STATE | JSON, STATE | JSON)
def test_diff_never_raises_and_is_deterministic(before: Any, after: Any) -> None:
    diff = diff_states(
        before if isinstance(before, dict) else None, after if isinstance(after, dict) else None
    )
    assert diff == diff_states(
        before if isinstance(before, dict) else None, after if isinstance(after, dict) else None
    )
    assert all("\n" not in line for line in diff.lines)
    assert not diff.changed or diff.lines


@settings(max_examples=200, deadline=None)
@given(STATE)
def test_a_state_equals_itself(state: dict[str, Any]) -> None:
    diff = diff_states(state, state)
    assert (diff.changed, diff.lines, diff.new_media) == (False, [], [])
