"""Pure: the compact timeline draft the sandbox keeps in session state (ARCHITECTURE.md data shapes).

``{"t": [track...], "d": ms, "m": {"title", "width", "height", "fps"}}``; track ``{"id", "tt", "n",
"sg"}`` with ``tt`` 0 video, 1 audio/BGM, 7 title; segments carry ``s``/``d`` in ms, ``src``, ``v``,
``txt``/``sty``, ``n``, ``kind``. Every function returns a new draft; inputs are never mutated.
"""

from __future__ import annotations

import copy
from typing import Any

from free_generation_image.sandbox.intent import Edit

Draft = dict[str, Any]

VIDEO, AUDIO, TEXT = 0, 1, 7
CANVAS: dict[str, tuple[int, int]] = {
    "16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1080, 1080), "4:3": (1440, 1080), "3:4": (1080, 1440),
}
BGM_VOLUME = 0.35
TITLE_SECONDS = 3.0
DEFAULT_TITLE_STYLE = "white,bold,fade-in"


def canvas_config(ratio: str) -> dict[str, Any]:
    """``state.canvas_config`` for an aspect ratio."""
    width, height = CANVAS[ratio]
    return {"width": width, "height": height, "ratio": ratio}


def media_draft(*, kind: str, src: str, label: str, seconds: float, ratio: str, title: str,
                fps: int) -> Draft:
    """Stage one: a draft whose video track holds the generated image or clip."""
    width, height = CANVAS[ratio]
    ms = round(seconds * 1000)
    segment = {"id": "v1-1", "s": 0, "d": ms, "src": src, "n": label, "kind": kind}
    return {"t": [{"id": "v1", "tt": VIDEO, "n": "Video", "sg": [segment]}], "d": ms,
            "m": {"title": title, "width": width, "height": height, "fps": fps}}


def with_post_production(draft: Draft, *, title: str, bgm_src: str | None, bgm_label: str = "") -> Draft:
    """Stage two: add a BGM track (when ``bgm_src``) and a title track over the first seconds."""
    out = copy.deepcopy(draft)
    ms = int(out.get("d") or 0)
    if bgm_src is not None:
        out["t"].append(_bgm_track(bgm_src, bgm_label, ms))
    title_ms = min(ms, round(TITLE_SECONDS * 1000)) or ms
    out["t"].append({"id": "t1", "tt": TEXT, "n": "Title", "sg": [
        {"id": "t1-1", "s": 0, "d": title_ms, "txt": title, "sty": DEFAULT_TITLE_STYLE, "n": title}]})
    return out


def apply_edits(draft: Draft, edits: tuple[Edit, ...], *, bgm_src: str, bgm_label: str) -> tuple[Draft, list[str]]:
    """Apply an edit turn's changes; return the new draft and the operations that changed it."""
    out = copy.deepcopy(draft)
    applied: list[str] = []
    for edit in edits:
        if _apply(out, edit, bgm_src, bgm_label):
            applied.append(edit.op)
    return out, applied


def has_content(draft: Draft) -> bool:
    """The skill's readiness rule: a track with at least one segment."""
    return any(track.get("sg") for track in draft.get("t") or [])


def _bgm_track(src: str, label: str, ms: int) -> dict[str, Any]:
    return {"id": "a1", "tt": AUDIO, "n": "BGM",
            "sg": [{"id": "a1-1", "s": 0, "d": ms, "src": src, "v": BGM_VOLUME, "n": label}]}


def _tracks(draft: Draft, tt: int) -> list[dict[str, Any]]:
    return [t for t in draft.get("t") or [] if t.get("tt") == tt]


def _apply(draft: Draft, edit: Edit, bgm_src: str, bgm_label: str) -> bool:
    """Mutate ``draft`` (a private copy) for one edit; False when there was nothing to change."""
    music, titles = _tracks(draft, AUDIO), _tracks(draft, TEXT)
    title_segments = [sg for t in titles for sg in t.get("sg") or []]
    if edit.op == "add_music":
        if music:
            return False
        draft["t"].append(_bgm_track(bgm_src, bgm_label, int(draft.get("d") or 0)))
    elif edit.op == "remove_music":
        if not music:
            return False
        draft["t"] = [t for t in draft["t"] if t.get("tt") != AUDIO]
    elif edit.op in ("music_louder", "music_quieter"):
        step = 0.2 if edit.op == "music_louder" else -0.2
        segments = [sg for t in music for sg in t.get("sg") or []]
        for sg in segments:
            sg["v"] = round(min(1.0, max(0.0, float(sg.get("v", BGM_VOLUME)) + step)), 2)
        return bool(segments)
    elif edit.op == "title_color":
        for sg in title_segments:
            rest = [p for p in str(sg.get("sty", "")).split(",")[1:] if p]
            sg["sty"] = ",".join([edit.value, *rest])
        return bool(title_segments)
    elif edit.op == "title_text":
        for sg in title_segments:
            sg["txt"] = sg["n"] = edit.value
        if "m" in draft:
            draft["m"]["title"] = edit.value
        return bool(title_segments)
    else:  # "effect": an unrecognised change is recorded on the video segments
        segments = [sg for t in _tracks(draft, VIDEO) for sg in t.get("sg") or []]
        for sg in segments:
            sg["fx"] = [*sg.get("fx", []), edit.value]
        return bool(segments)
    return True
