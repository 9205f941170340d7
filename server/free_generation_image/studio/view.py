"""Pure: what the studio page draws, built from the backend's draft and the service's results."""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, Field

from free_generation_image.models import CreditsInfo, JobSummary, Project
from free_generation_image.nemo.labels import clean_label
from free_generation_image.nemo.timeline import Draft, Segment, Track


class StudioSegment(BaseModel):
    start_ms: float | None = None
    duration_ms: float | None = None
    label: str = ""
    kind: str | None = Field(None, description="image, video, audio or text")


class StudioTrack(BaseModel):
    kind: str = Field(description="video, audio, text or other")
    name: str = Field(description="The track's own name, else its type and position")
    segments: list[StudioSegment] = Field(default_factory=list)


class StudioProject(BaseModel):
    """The project as the studio's timeline strip and header show it."""

    project: Project | None = None
    language: str = "en"
    tracks: list[StudioTrack] = Field(default_factory=list)
    total_ms: float | None = None
    width: int | None = None
    height: int | None = None
    ready_to_export: bool = False
    credits: CreditsInfo | None = None
    running: list[JobSummary] = Field(default_factory=list, description="Jobs still running")
    media_origins: list[str] = Field(
        default_factory=list, description="Origins the page may load media from directly (remote mode)"
    )
    chunk_bytes: int = Field(description="Largest media chunk studio_media returns")
    notes: list[str] = Field(default_factory=list)


class StudioProgress(BaseModel):
    job_id: str
    kind: str
    status: str
    done: bool
    percent: float | None = None
    message: str = ""


class StudioEstimate(BaseModel):
    """What a spending action will likely cost, asked before the page sends it."""

    estimate: int = Field(description="Estimated credits (a guess, not a price)")
    available: int | None = Field(None, description="Credits available now; None if unknown")
    enough: bool | None = None


def _src_name(src: str | None) -> str:
    if not src:
        return ""
    path = unquote(urlsplit(src).path)
    return PurePosixPath(path).name


def _segment_label(segment: Segment) -> str:
    return clean_label(segment.label or segment.text or _src_name(segment.src) or "")


def _segment_kind(segment: Segment, track: Track) -> str | None:
    if segment.kind:
        return segment.kind
    return {"audio": "audio", "text": "text"}.get(track.kind)


def tracks(draft: Draft | None) -> list[StudioTrack]:
    """Non-empty tracks in draft order, each named by what the draft says (else "Video track 2")."""
    if draft is None:
        return []
    out: list[StudioTrack] = []
    for track in draft.tracks:
        if not track.segments:
            continue
        out.append(
            StudioTrack(
                kind=track.kind,
                name=clean_label(track.name) if track.name else track.place,
                segments=[
                    StudioSegment(
                        start_ms=seg.start_ms,
                        duration_ms=seg.duration_ms,
                        label=_segment_label(seg),
                        kind=_segment_kind(seg, track),
                    )
                    for seg in track.segments
                ],
            )
        )
    return out


def total_ms(draft: Draft | None) -> float | None:
    return draft.total_ms if draft is not None else None


def origin(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, else None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
