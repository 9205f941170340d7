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
    "16:9": (1920, 1080),
    "9:16": (1080, 1920),
    "1:1": (1080, 1080),
    "4:3": (1440, 1080),
    "3:4": (1080, 1440),
}
BGM_VOLUME = 0.35
TITLE_SECONDS = 3.0
DEFAULT_TITLE_STYLE = "white,bold,fade-in"


def canvas_config(ratio: str) -> dict[str, Any]:
    """``state.canvas_config`` for an aspect ratio."""
    width, height = CANVAS[ratio]
    return {"width": width, "height": height, "ratio": ratio}


def add_media(
    draft: Draft, *, kind: str, src: str, label: str, seconds: float, ratio: str, title: str, fps: int
) -> Draft:
    """Stage one: put generated media on the video track (appended when the canvas is unchanged)."""
    width, height = CANVAS[ratio]
    ms = round(seconds * 1000)
    meta = draft.get("m") or {}
    if not has_content(draft) or (meta.get("width"), meta.get("height")) != (width, height):
        # A new aspect ratio means a new timeline (contract §5.1: changing it requires regeneration).
        out: Draft = {
            "t": [{"id": "v1", "tt": VIDEO, "n": "Video", "sg": []}],
            "d": 0,
            "m": {"title": title, "width": width, "height": height, "fps": fps},
        }
    else:
        out = copy.deepcopy(draft)
    video = _track(out, VIDEO, "v1", "Video")
    start = int(out.get("d") or 0)
    video["sg"].append(
        {"id": f"v1-{len(video['sg']) + 1}", "s": start, "d": ms, "src": src, "n": label, "kind": kind}
    )
    out["d"] = start + ms
    return out


def post_produce(draft: Draft, *, title: str, bgm_src: str | None, bgm_label: str = "") -> Draft:
    """Stage two: BGM under the whole timeline (added when ``bgm_src``, else only stretched) and a
    title over the first seconds of the newest video segment."""
    out = copy.deepcopy(draft)
    total = int(out.get("d") or 0)
    music = _tracks(out, AUDIO)
    if not music and bgm_src is not None:
        out["t"].append(_bgm_track(bgm_src, bgm_label, total))
    for track in music:
        for sg in track.get("sg") or []:
            sg["d"] = max(0, total - int(sg.get("s") or 0))
    videos = _tracks(out, VIDEO)
    newest = videos[0]["sg"][-1] if videos and videos[0].get("sg") else {"s": 0, "d": total}
    titles = _track(out, TEXT, "t1", "Title")
    titles["sg"].append(
        {
            "id": f"t1-{len(titles['sg']) + 1}",
            "s": int(newest["s"]),
            "d": min(int(newest["d"]), round(TITLE_SECONDS * 1000)),
            "txt": title,
            "sty": DEFAULT_TITLE_STYLE,
            "n": title,
        }
    )
    return out


def apply_edits(
    draft: Draft, edits: tuple[Edit, ...], *, bgm_src: str | None = None, bgm_label: str = ""
) -> tuple[Draft, list[str]]:
    """Apply an edit turn's changes; return the new draft and the operations that changed it.

    ``add_music`` needs ``bgm_src``; without it the edit changes nothing."""
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
    return {
        "id": "a1",
        "tt": AUDIO,
        "n": "BGM",
        "sg": [{"id": "a1-1", "s": 0, "d": ms, "src": src, "v": BGM_VOLUME, "n": label}],
    }


def _tracks(draft: Draft, tt: int) -> list[dict[str, Any]]:
    return [t for t in draft.get("t") or [] if t.get("tt") == tt]


def _track(draft: Draft, tt: int, track_id: str, name: str) -> dict[str, Any]:
    """The first track of type ``tt``, created (empty) when missing."""
    found = _tracks(draft, tt)
    if found:
        return found[0]
    track: dict[str, Any] = {"id": track_id, "tt": tt, "n": name, "sg": []}
    draft.setdefault("t", []).append(track)
    return track


def _apply(draft: Draft, edit: Edit, bgm_src: str | None, bgm_label: str) -> bool:
    """Mutate ``draft`` (a private copy) for one edit; False when there was nothing to change."""
    music, titles = _tracks(draft, AUDIO), _tracks(draft, TEXT)
    title_segments = [sg for t in titles for sg in t.get("sg") or []]
    if edit.op == "add_music":
        if music or bgm_src is None:
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
