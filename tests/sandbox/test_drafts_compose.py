"""Draft building/editing and reading drafts as compositions (pure)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from free_generation_image.sandbox.compose import Caption, Layer, color_of, composition_of, even
from free_generation_image.sandbox.drafts import (
    add_media,
    apply_edits,
    canvas_config,
    has_content,
    post_produce,
)
from free_generation_image.sandbox.intent import Edit


def video_draft() -> dict[str, Any]:
    draft = add_media(
        {},
        kind="video",
        src="http://sb/files/a.mp4",
        label="waves",
        seconds=4,
        ratio="16:9",
        title="Waves",
        fps=30,
    )
    return post_produce(draft, title="Waves", bgm_src="http://sb/files/bgm.wav", bgm_label="Lo-fi")


def test_canvas_per_ratio() -> None:
    assert canvas_config("3:4") == {"width": 1080, "height": 1440, "ratio": "3:4"}


def test_two_stage_video_draft() -> None:
    draft = video_draft()
    assert draft["d"] == 4000 and draft["m"] == {"title": "Waves", "width": 1920, "height": 1080, "fps": 30}
    video, music, title = draft["t"]
    assert (video["tt"], music["tt"], title["tt"]) == (0, 1, 7)
    assert video["sg"] == [
        {"id": "v1-1", "s": 0, "d": 4000, "src": "http://sb/files/a.mp4", "n": "waves", "kind": "video"}
    ]
    assert music["sg"][0] == {
        "id": "a1-1",
        "s": 0,
        "d": 4000,
        "src": "http://sb/files/bgm.wav",
        "v": 0.35,
        "n": "Lo-fi",
    }
    assert title["sg"][0]["d"] == 3000 and title["sg"][0]["txt"] == "Waves"


def test_a_new_aspect_ratio_starts_a_new_timeline() -> None:
    draft = add_media(
        video_draft(), kind="image", src="x", label="l", seconds=2, ratio="9:16", title="T", fps=30
    )
    assert draft["d"] == 2000 and len(draft["t"]) == 1 and draft["m"]["height"] == 1920


def test_inputs_are_never_mutated() -> None:
    draft = video_draft()
    before = copy.deepcopy(draft)
    post_produce(draft, title="x", bgm_src=None)
    apply_edits(draft, (Edit("remove_music"), Edit("title_text", "New")))
    add_media(draft, kind="image", src="y", label="y", seconds=1, ratio="16:9", title="y", fps=30)
    assert draft == before


@pytest.mark.parametrize(
    ("edit", "changed"),
    [
        (Edit("remove_music"), lambda d: [t["tt"] for t in d["t"]] == [0, 7]),
        (Edit("music_louder"), lambda d: d["t"][1]["sg"][0]["v"] == 0.55),
        (Edit("music_quieter"), lambda d: d["t"][1]["sg"][0]["v"] == 0.15),
        (Edit("title_color", "red"), lambda d: d["t"][2]["sg"][0]["sty"] == "red,bold,fade-in"),
        (Edit("title_text", "Hi"), lambda d: d["t"][2]["sg"][0]["txt"] == "Hi" == d["m"]["title"]),
        (Edit("effect", "slow motion"), lambda d: d["t"][0]["sg"][0]["fx"] == ["slow motion"]),
    ],
)
def test_each_edit(edit: Edit, changed: Any) -> None:
    draft, applied = apply_edits(video_draft(), (edit,))
    assert applied == [edit.op] and changed(draft)


def test_edits_that_change_nothing_are_not_reported() -> None:
    draft, applied = apply_edits(video_draft(), (Edit("add_music"),), bgm_src="x")
    assert applied == [] and draft == video_draft()
    image = add_media({}, kind="image", src="i", label="i", seconds=5, ratio="1:1", title="I", fps=30)
    assert apply_edits(image, (Edit("add_music"),))[1] == []  # no music file to add
    with_music, applied = apply_edits(image, (Edit("add_music"),), bgm_src="m.wav", bgm_label="Pop")
    assert applied == ["add_music"] and with_music["t"][-1]["sg"][0]["d"] == 5000


def test_has_content() -> None:
    assert not has_content({}) and not has_content({"t": [{"tt": 0, "sg": []}]})
    assert has_content(video_draft())


def test_composition_of_a_draft() -> None:
    comp = composition_of(video_draft(), scale=0.5)
    assert (comp.width, comp.height, comp.fps, comp.duration) == (960, 540, 30, 4000)
    assert comp.layers == (Layer(0, 4000, "http://sb/files/a.mp4", "waves"),)
    assert comp.captions == (Caption(0, 3000, "Waves", (255, 255, 255)),)
    assert comp.boundaries() == [0, 3000, 4000]
    assert comp.layer_at(3999) is not None and comp.layer_at(4000) is None
    assert [c.text for c in comp.captions_at(2999)] == ["Waves"] and comp.captions_at(3000) == []


def test_composition_key_ignores_ids_but_not_content() -> None:
    draft = video_draft()
    renamed = copy.deepcopy(draft)
    renamed["t"][0]["id"] = renamed["t"][0]["sg"][0]["id"] = "other"
    assert composition_of(draft).key("mp4") == composition_of(renamed).key("mp4")
    assert composition_of(draft).key("mp4") != composition_of(draft).key("png")
    retitled, _ = apply_edits(draft, (Edit("title_text", "Other"),))
    assert composition_of(draft).key("mp4") != composition_of(retitled).key("mp4")


def test_composition_defaults_for_a_minimal_draft() -> None:
    comp = composition_of({"t": [{"tt": 0, "sg": [{"d": 1500, "src": "u"}]}]}, default_size=(1080, 1920))
    assert (comp.width, comp.height, comp.duration, comp.fps) == (1080, 1920, 1500, 30)


@pytest.mark.parametrize(
    "draft", [{}, {"t": []}, {"t": [{"tt": 0, "sg": []}]}, {"t": [{"tt": 0, "sg": [{"d": 0}]}]}, {"t": "x"}]
)
def test_invalid_drafts(draft: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="invalid draft"):
        composition_of(draft)


@pytest.mark.parametrize(
    ("style", "rgb"),
    [
        ("red,bold", (230, 40, 40)),
        ("neon blue, fade-in", (60, 200, 255)),
        ("#ff8800", (255, 136, 0)),
        ("", (255, 255, 255)),
        ("#zzzzzz", (255, 255, 255)),
    ],
)
def test_title_colour(style: str, rgb: tuple[int, int, int]) -> None:
    assert color_of(style) == rgb


def test_even_sizes() -> None:
    assert [even(v) for v in (1.0, 107.9, 108, 109, 111, 1919.5)] == [
        16,
        108,
        108,
        108,
        112,
        1920,
    ]  # halves to even


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.sampled_from(["t", "d", "m", "x"]), _json, max_size=4))
def test_any_json_draft_is_read_or_refused_cleanly(draft: dict[str, Any]) -> None:
    try:
        comp = composition_of(draft)
    except ValueError as err:
        refusal = str(err)
    else:
        assert comp.width % 2 == 0 and comp.height % 2 == 0 and 0 < comp.duration <= 600_000
        return
    assert refusal.startswith("invalid draft")
