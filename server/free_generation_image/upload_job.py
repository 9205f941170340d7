"""Upload jobs: add local files or URLs to the project (free), bounded like every other call.

A long upload runs on as a job; an upload whose process died is not resumed (its file stream is gone):
it ends with a clear note, and uploading again is free.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from free_generation_image import timeline_words
from free_generation_image.deps import Deps
from free_generation_image.engine import view_of
from free_generation_image.errors import FGIError
from free_generation_image.inputs import split_sources
from free_generation_image.jobs import Job, Progress
from free_generation_image.models import UploadedItem, UploadResult
from free_generation_image.nemo import timeline
from free_generation_image.nemo.errors import SessionNotFound


class UploadInterrupted(FGIError):
    default_hint = "Upload the files again (uploads are free)."


class Uploads:
    """Starts, runs and shows upload jobs."""

    def __init__(self, deps: Deps) -> None:
        self.d = deps
        deps.engine.on_resume("upload", self.resume)

    async def start(self, sources: list[str]) -> Job:
        """Check the sources (nothing is sent for a bad one), then start (or join) the upload job."""
        paths, urls = await anyio.to_thread.run_sync(split_sources, sources)
        items = [str(p) for p in paths] + urls
        key = hashlib.sha256(json.dumps([self.d.settings.api_url, sorted(items)]).encode()).hexdigest()[:32]
        job, joined = await self.d.jobs.create_or_join(
            "upload", dedupe_key=key, window=0.0, params={"sources": items}, message="uploading"
        )
        if not joined:
            self.d.engine.spawn(job, lambda: self.run(job, paths, urls))
        return job

    async def run(self, job: Job, paths: list[Path], urls: list[str]) -> UploadResult:
        saved = await self.d.projects.ensure(language_hint="")
        job.record.session_id = saved.session_id
        uploaded: list[UploadedItem] = []
        for attempt in (1, 2):
            try:
                if paths:
                    got = await self.d.client.upload_files(saved.session_id, paths)
                    uploaded += [_item(str(p), f) for p, f in zip(paths, got, strict=False)]
                    paths = []
                    job.update(Progress(message="files uploaded"), persist=True)
                if urls:
                    got = await self.d.client.upload_urls(saved.session_id, urls)
                    uploaded += [_item(u, f) for u, f in zip(urls, got, strict=False)]
                break
            except SessionNotFound:
                if attempt == 2:
                    raise
                saved = await self.d.projects.replace(saved)
                job.record.session_id = saved.session_id
        state = await self.d.client.state(saved.session_id)
        return UploadResult(
            job_id=job.id,
            files=uploaded,
            timeline=timeline_words.summarize(timeline.parse_draft(state.draft)),
            project=saved.public(),
        )

    async def resume(self, job: Job) -> UploadResult:
        raise UploadInterrupted("This upload was interrupted when the program running it stopped.")

    def view(self, job: Job) -> UploadResult:
        return view_of(job, UploadResult, {"progress": job.record.message})


def _item(source: str, uploaded: Any) -> UploadedItem:
    return UploadedItem(
        source=source,
        filename=getattr(uploaded, "filename", "") or Path(source).name,
        file_type=getattr(uploaded, "file_type", None),
        url=getattr(uploaded, "cdn_url", None),
        duration=getattr(uploaded, "duration", None),
        width=getattr(uploaded, "width", None),
        height=getattr(uploaded, "height", None),
    )


__all__ = ["Uploads"]
