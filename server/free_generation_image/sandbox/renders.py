"""Render jobs (contract §2.8-2.12, §6): pending -> processing -> completed | failed | cancelled.

The clock is ``render_seconds``: a render completes when its output is encoded *and* that much time
has passed since submission, so a benchmark can ask for a 37 s render and get one. The exact moment
is kept as ``completedAt`` (epoch ms), in the poll body and in the journal.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from PIL import Image

import free_generation_image.sandbox.video as video
from free_generation_image.sandbox.compose import Composition
from free_generation_image.sandbox.config import PollShape
from free_generation_image.sandbox.files import FileStore, StoredFile, file_url, key_of
from free_generation_image.sandbox.journal import Journal
from free_generation_image.sandbox.media import open_image, paint, png_bytes
from free_generation_image.sandbox.world import World

Status = Literal["pending", "processing", "completed", "failed", "cancelled"]
Format = Literal["mp4", "png"]
TERMINAL: tuple[Status, ...] = ("completed", "failed", "cancelled")
PENDING_SHARE = 0.1  # of render_seconds spent "pending" before "processing"
STILL_AT_MS = 1000  # the PNG still shows the composition at 1 s (titles are on screen)
CONTENT_TYPES: dict[str, str] = {"mp4": "video/mp4", "png": "image/png"}


@dataclass
class Render:
    """One export job."""

    render_id: str
    user_id: str
    session_id: str | None
    fmt: Format
    composition: Composition
    created_at: float  # epoch seconds
    seconds: float  # render_seconds at submission
    base_url: str
    fail_with: str | None = None  # injected failure message
    status: Status = "pending"  # stored only once terminal; otherwise derived from the clock
    completed_at: float | None = None
    ended_at: float | None = None  # any terminal status: progress stops moving
    error: str | None = None
    output_key: str | None = None
    size: int | None = None
    scope: anyio.CancelScope | None = None

    def current(self, now: float) -> tuple[Status, int]:
        """(status, progress 0-100) at ``now``."""
        if self.status in TERMINAL:
            return self.status, 100 if self.status == "completed" else self._progress(now)
        elapsed = now - self.created_at
        return ("pending" if elapsed < PENDING_SHARE * self.seconds else "processing"), self._progress(now)

    def _progress(self, now: float) -> int:
        end = self.ended_at or now
        share = 1.0 if self.seconds <= 0 else min(1.0, (end - self.created_at) / self.seconds)
        return min(99, 5 + int(94 * share))

    @property
    def output_url(self) -> str | None:
        """Public URL of the finished file."""
        return (
            file_url(self.base_url, self.output_key)
            if self.output_key and self.status == "completed"
            else None
        )

    def data(self, now: float) -> dict[str, Any]:
        """The ``data`` object of the lambda poll (best-evidenced shape, contract §2.9)."""
        status, progress = self.current(now)
        body: dict[str, Any] = {
            "id": self.render_id,
            "status": status,
            "progress": progress,
            "createdAt": int(self.created_at * 1000),
        }
        if self.output_url:
            body["outputUrl"] = self.output_url
        if self.completed_at is not None:
            body["completedAt"] = int(self.completed_at * 1000)
        if self.error:
            body["error"] = self.error
        return body

    def legacy(self, now: float) -> dict[str, Any]:
        """The raw init-era body (contract §2.12, §6.2 first row)."""
        status, progress = self.current(now)
        body: dict[str, Any] = {"taskId": self.render_id, "status": status, "progress": progress}
        if self.output_url:
            body["output"] = {
                "url": self.output_url,
                "duration": self.composition.duration / 1000,
                "size": self.size,
            }
        if self.error:
            body["error"] = self.error
        return body

    def poll_body(self, shape: PollShape, now: float) -> tuple[dict[str, Any], dict[str, Any]]:
        """(data, top-level extras) for the lambda poll in the configured shape; raw puts all in extras."""
        if shape == "raw":
            return {}, self.legacy(now)
        data = self.data(now)
        if shape == "data":
            return data, {}
        mirror: dict[str, Any] = {"status": data["status"], "progress": data["progress"]}
        if "outputUrl" in data:
            mirror["output"] = {"url": data["outputUrl"]}
        if "error" in data:
            mirror["error"] = data["error"]
        return data, mirror


async def run_render(world: World, render: Render) -> None:
    """Drive one render to a terminal status on the sandbox clock."""
    files, journal, config = world.files, world.journal, world.config
    comp, fmt = render.composition, render.fmt
    output = f"renders/{render.render_id}.{fmt}"
    try:
        if render.fail_with is not None:
            await anyio.sleep(max(0.0, render.created_at + render.seconds / 2 - time.time()))
            _finish(render, journal, "failed", error=render.fail_with)
            return
        # With the cache on, identical compositions share one encode; each render keeps its own URL.
        key = f"cache/{comp.key(fmt)}.{fmt}" if config.render_cache else output
        sources = _sources(files, comp)
        stored = await files.produce(key, CONTENT_TYPES[fmt], lambda stop: _encode(comp, fmt, sources, stop))
        if key != output:
            files.put(output, stored.data, stored.content_type)
        await anyio.sleep(max(0.0, render.created_at + render.seconds - time.time()))
        render.output_key, render.size = output, len(stored.data)
        _finish(render, journal, "completed")
    except video.VideoUnavailable as err:
        _finish(render, journal, "failed", error=f"video rendering is unavailable: {err}")
    except video.Stopped:
        pass  # shutting down


def cancel(render: Render, journal: Journal) -> bool:
    """Cancel a render that has not finished; False when it already has."""
    if render.status in TERMINAL:
        return False
    if render.scope is not None:
        render.scope.cancel()
    _finish(render, journal, "cancelled")
    return True


def _finish(render: Render, journal: Journal, status: Status, *, error: str | None = None) -> None:
    render.status, render.error, render.ended_at = status, error, time.time()
    if status == "completed":
        render.completed_at = render.ended_at
    journal.event(
        f"render.{status}",
        render_id=render.render_id,
        session_id=render.session_id,
        createdAt=int(render.created_at * 1000),
        completedAt=int(render.completed_at * 1000) if render.completed_at else None,
        error=error,
    )


def _sources(files: FileStore, comp: Composition) -> dict[str, StoredFile | None]:
    """The stored files behind the composition's pictures (sandbox URLs or ``/mnt/userdata/<name>``)."""
    found: dict[str, StoredFile | None] = {}
    for layer in comp.layers:
        key = key_of(layer.src)
        if key is not None:
            found[layer.src] = files.get(key)
        elif layer.src.startswith("/mnt/userdata/"):
            found[layer.src] = files.find_basename(layer.src.rsplit("/", 1)[-1])
        else:
            found[layer.src] = None  # external URL: no network here; a placeholder card stands in
    return found


def _encode(
    comp: Composition, fmt: Format, files: dict[str, StoredFile | None], stop: threading.Event
) -> bytes:
    """Worker thread: decode the sources, paint, encode. A clip plays in an MP4; a still shows its
    first frame."""
    found = {src: stored for src, stored in files.items() if stored is not None}
    clips = {src: s.data for src, s in found.items() if s.content_type.startswith("video/")}
    if fmt == "mp4":
        stills = {src: p for src, s in found.items() if src not in clips and (p := open_image(s.data))}
        return video.render(comp, stills, clips, stop)
    pictures = {src: p for src, s in found.items() if (p := _first_frame(s))}
    return png_bytes(paint(comp, min(STILL_AT_MS, comp.duration // 2), pictures))


def _first_frame(stored: StoredFile) -> Image.Image | None:
    if not stored.content_type.startswith("video/"):
        return open_image(stored.data)
    try:
        return video.poster(stored.data)
    except video.VideoUnavailable:  # a still can do without: a placeholder card stands in
        return None
