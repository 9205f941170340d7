"""Export jobs: render the project's timeline (free) and save the file.

The job exists before anything is awaited (twin calls join it); inside it: the output folder, the
project's state, then a timeline already exported unchanged returns that file instead of a new render.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.to_thread

from free_generation_image import mediatypes, naming
from free_generation_image.deps import Deps
from free_generation_image.engine import view_of
from free_generation_image.errors import InvalidInput, NotReady
from free_generation_image.exporting import render
from free_generation_image.generate_job import PrepareTimedOut
from free_generation_image.jobs import Job, JobRecord, Progress
from free_generation_image.models import ExportResult
from free_generation_image.nemo import timeline
from free_generation_image.nemo.errors import SessionNotFound
from free_generation_image.outdir import EXPECTED_BYTES, check_output_dir
from free_generation_image.projects import SavedProject

log = logging.getLogger(__name__)

Format = Literal["mp4", "png"]


class Exports:
    """Starts, runs, resumes and shows export jobs."""

    def __init__(self, deps: Deps) -> None:
        self.d = deps
        deps.engine.on_resume("export", self.resume)

    async def start(self, fmt: str, output_dir: Path | None = None) -> Job:
        """Start (or join) a render job for the current project's timeline."""
        if fmt not in ("mp4", "png"):
            raise InvalidInput(
                f"Unknown export format {fmt!r}.",
                hint="Use mp4 (the video) or png (a still).",
                argument="format",
            )
        saved = await self.d.projects.load()
        if saved is None:
            raise NotReady("Nothing to export yet: no project.", hint="Generate an image or video first.")
        directory = (output_dir or self.d.settings.output_dir).expanduser()
        key = _key(self.d.settings.api_url, saved.session_id, fmt, str(directory))
        job, joined = await self.d.jobs.create_or_join(
            "export",
            dedupe_key=key,
            window=0.0,  # only a running export is joined; a finished one is matched on its timeline below
            session_id=saved.session_id,
            params={"fmt": fmt, "output_dir": str(directory), "notes": []},
            message="reading the timeline",
        )
        if not joined:
            self.d.engine.spawn(job, lambda: self.run(job, saved))
        return job

    async def run(self, job: Job, saved: SavedProject) -> ExportResult:
        params = job.record.params
        fmt: Format = "png" if params.get("fmt") == "png" else "mp4"
        directory = Path(str(params.get("output_dir") or self.d.settings.output_dir))
        try:
            with anyio.fail_after(self.d.prepare_seconds):
                await anyio.to_thread.run_sync(check_output_dir, directory, EXPECTED_BYTES[fmt])
                try:
                    state = await self.d.client.state(saved.session_id)
                except SessionNotFound:
                    raise NotReady(
                        "The backend no longer knows this project, so there is nothing to export.",
                        hint="Generate something first; it starts a new project.",
                    ) from None
        except TimeoutError:
            raise PrepareTimedOut("The backend did not answer while the export was getting ready.") from None
        draft = state.draft
        if draft is None or not timeline.is_ready(timeline.parse_draft(draft)):
            raise NotReady(
                "Nothing to export yet: the timeline is empty.", hint="Generate an image or video first."
            )
        params["draft_key"] = hashlib.sha256(json.dumps(draft, sort_keys=True).encode()).hexdigest()[:24]
        records = await anyio.to_thread.run_sync(self.d.jobs.records)
        earlier = _same_export(records, job.record, self.d.dedupe_window)
        if earlier is not None and earlier.result:
            result = ExportResult.model_validate(earlier.result)
            result.job_id = job.id
            result.notes = [
                f"The timeline has not changed since export job {earlier.id}: this is the same file."
            ]
            return result
        params["title"] = _title(draft, records, saved.session_id)
        return await self._render(job, saved, draft, list(params.get("notes") or []))

    async def _render(
        self,
        job: Job,
        saved: SavedProject,
        draft: dict[str, Any],
        notes: list[str],
        resume_id: str | None = None,
    ) -> ExportResult:
        params = job.record.params
        fmt: Format = "png" if params.get("fmt") == "png" else "mp4"
        outcome = await render(
            self.d.client,
            job,
            saved.session_id,
            draft,
            fmt,
            self.d.poll_policy,
            self.d.sleep,
            resume_render_id=resume_id,
        )
        notes.extend(outcome.notes)
        render_id = outcome.status.id or job.record.render_id or ""
        common: dict[str, Any] = {
            "job_id": job.id,
            "format": fmt,
            "render_id": render_id,
            "notes": notes,
            "project": saved.public(),
        }
        if outcome.status.status == "cancelled":
            return ExportResult(status="cancelled", **common)
        url = outcome.status.url
        job.update(Progress(message="downloading the export", percent=100.0), persist=True)
        meta = {
            "project": {"task_id": saved.task_id, "session_id": saved.session_id},
            "render_id": render_id,
            "format": fmt,
            "job_id": job.id,
            "source_url": url,
            "credits": {"spent": 0},
        }
        stem = naming.safe_stem(f"{params.get('title') or 'project'}-export")
        directory = Path(str(params.get("output_dir") or self.d.settings.output_dir))
        if not url:
            notes.append("The backend gave no download URL; used its download endpoint instead.")
        expected = mediatypes.IMAGE_KINDS if fmt == "png" else mediatypes.VIDEO_KINDS
        media = await self.d.media.save(
            url, stem, expected, directory, meta, fallback_render_id=render_id, job=job
        )
        return ExportResult(status="completed", file=media, url=url, percent=100.0, **common)

    async def resume(self, job: Job) -> ExportResult:
        """An export whose process died: its render is polled by id (or submitted if it never was)."""
        session_id = job.record.session_id
        if session_id is None:
            raise NotReady("This export has no project.")
        saved = await self.d.projects.load()
        if saved is None or saved.session_id != session_id:
            saved = SavedProject(
                task_id="", session_id=session_id, user_id=None, language="en", created_at=0.0
            )
        state = await self.d.client.state(session_id)
        if state.draft is None:
            raise NotReady("The project's timeline is gone; nothing to export.")
        notes = [*list(job.record.params.get("notes") or []), "Resumed after a restart."]
        if not job.record.params.get("title"):
            records = await anyio.to_thread.run_sync(self.d.jobs.records)
            job.record.params["title"] = _title(state.draft, records, session_id)
        return await self._render(job, saved, state.draft, notes, resume_id=job.record.render_id)

    def view(self, job: Job) -> ExportResult:
        record = job.record
        same = {
            "format": "png" if record.params.get("fmt") == "png" else "mp4",
            "render_id": record.render_id,
        }
        running = {**same, "progress": record.message, "percent": record.percent}
        return view_of(job, ExportResult, running, same)


def _key(api_url: str, session_id: str, fmt: str, directory: str) -> str:
    return hashlib.sha256(f"{api_url}|{session_id}|{fmt}|{directory}".encode()).hexdigest()[:32]


def _same_export(records: list[JobRecord], job: JobRecord, window: float) -> JobRecord | None:
    """A recent successful export of the very same timeline, format and folder."""
    for record in records:
        if (
            record.id != job.id
            and record.kind == "export"
            and record.status == "succeeded"
            and record.dedupe_key == job.dedupe_key
            and record.params.get("draft_key") == job.params.get("draft_key")
            and job.updated_at - record.updated_at < window
        ):
            return record
    return None


def _title(draft: dict[str, Any], records: list[JobRecord], session_id: str) -> str:
    """The project's title, else its first prompt: what the export file is named after."""
    meta = draft.get("m")
    title = meta.get("title") if isinstance(meta, dict) else None
    if isinstance(title, str) and title.strip():
        return title
    prompts = [
        r
        for r in records
        if r.kind == "generate" and r.session_id == session_id and isinstance(r.params.get("prompt"), str)
    ]
    if prompts:
        return str(min(prompts, key=lambda r: r.created_at).params["prompt"])
    return "project"


__all__ = ["Exports"]
