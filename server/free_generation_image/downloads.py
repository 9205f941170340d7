"""Turning the backend's media links into files in the output dir: one path for generated media and
exports (the link, else the render's download endpoint), each file with a JSON sidecar."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx2

from free_generation_image import mediatypes, saving
from free_generation_image.errors import FGIError, InvalidInput, NotFound
from free_generation_image.jobs import Job, Progress
from free_generation_image.models import MediaFile
from free_generation_image.naming import resource_uri_for, safe_stem
from free_generation_image.nemo.client import Download, NemoClient
from free_generation_image.nemo.errors import NemoError
from free_generation_image.skillmeta import SKILL

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 2 * 1024**3


class MediaSaver:
    """Downloads into the output dir through one client; never overwrites, never half-writes."""

    def __init__(self, client: NemoClient, output_dir: Path) -> None:
        self.client = client
        self.output_dir = output_dir

    async def save_generated(
        self,
        entries: Sequence[Mapping[str, Any]],
        prompt: str,
        meta: Mapping[str, Any],
        job: Job,
        notes: list[str],
    ) -> list[MediaFile]:
        """Save each new generated image/clip, named after the prompt; a failure is a note, not an error."""
        out: list[MediaFile] = []
        for entry in entries:
            url = entry.get("url") or entry.get("cdn_url")
            if not isinstance(url, str) or not url:
                continue
            is_video = str(entry.get("type") or entry.get("file_type") or "").lower() == "video"
            expected = mediatypes.VIDEO_KINDS if is_video else mediatypes.IMAGE_KINDS
            entry_meta = {**meta, "media_id": entry.get("id"), "source_url": url}
            try:
                out.append(
                    await self.save(url, safe_stem(prompt), expected, self.output_dir, entry_meta, job=job)
                )
            except (NemoError, FGIError, OSError) as err:
                text = err.user_text() if isinstance(err, FGIError) else str(err)
                notes.append(f"Could not save {url}: {text} It is still in the project.")
        return out

    async def save(
        self,
        url: str | None,
        stem: str,
        expected: frozenset[str],
        directory: Path,
        meta: Mapping[str, Any],
        *,
        fallback_render_id: str | None = None,
        job: Job | None = None,
    ) -> MediaFile:
        """Save ``url`` in ``directory`` (else the render's download endpoint) with a JSON sidecar."""
        saved: saving.SavedFile | None = None
        if url:
            try:
                saved = await self._save(self.client.download(url), directory, stem, expected, job)
            except (NemoError, saving.UnexpectedContent, InvalidInput, httpx2.HTTPError) as err:
                # InvalidInput: a non-http(s) link, never opened; the render's own endpoint may still work.
                if fallback_render_id is None:
                    raise
                log.info("download of %s failed (%s); using the render download endpoint", url, err)
        if saved is None:
            if fallback_render_id is None:
                raise NotFound("The backend gave no file to download.")
            saved = await self._save(
                self.client.download_render(fallback_render_id), directory, stem, expected, job
            )
        sidecar = await anyio.to_thread.run_sync(
            saving.write_sidecar,
            saved.path,
            {
                **meta,
                "file": saved.path.name,
                "sha256": saved.sha256,
                "size": saved.size,
                "saved_at": time.time(),
                "tool": f"{SKILL.name} {SKILL.version}",
            },
        )
        return MediaFile(
            path=str(saved.path),
            url=url,
            resource_uri=resource_uri_for(self.output_dir, saved.path),
            kind=saved.kind,
            mime_type=mediatypes.mime_type(saved.kind),
            size=saved.size,
            sidecar=str(sidecar),
        )

    async def _save(
        self,
        source: AbstractAsyncContextManager[Download],
        directory: Path,
        stem: str,
        expected: frozenset[str],
        job: Job | None,
    ) -> saving.SavedFile:
        async with source as dl:
            return await saving.save_stream(
                directory,
                stem,
                dl.aiter_bytes(),
                expected=expected,
                max_bytes=MAX_DOWNLOAD_BYTES,
                content_type=dl.content_type,
                on_progress=_bytes_reporter(job, dl.length),
            )


def _bytes_reporter(job: Job | None, total: int | None) -> Callable[[int], None] | None:
    """save_stream's byte count as job progress, so every waiter can show bytes and speed."""
    if job is None:
        return None

    def report(done: int) -> None:
        job.update(
            Progress(message="downloading", percent=job.record.percent, bytes_done=done, bytes_total=total)
        )

    return report
