"""The operations, shared by the MCP server and the CLI. Owns the project, the jobs and the waiting.

Every spending call is a job: it runs in this service's task group, so a caller can wait a bounded
time, return a job id, and collect the result later (or after a restart, through the job log).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import anyio
import httpx2
from anyio.abc import TaskGroup

from free_generation_image import files, router
from free_generation_image.config import Settings
from free_generation_image.downloads import MediaSaver
from free_generation_image.errors import FGIError, InvalidInput, NotFound, NotReady
from free_generation_image.exporting import render
from free_generation_image.generation import Turn, recover, reply_and_suggestions, stream_turn
from free_generation_image.jobs import Job, JobRecord, JobRegistry, Progress, ProgressFn
from free_generation_image.models import (
    CancelResult,
    ChatResult,
    CreditsInfo,
    ExportResult,
    GenerateResult,
    JobSummary,
    Project,
    StatusResult,
    UploadedItem,
    UploadResult,
)
from free_generation_image.nemo import timeline
from free_generation_image.nemo.client import NemoClient
from free_generation_image.nemo.errors import (
    BackendUnavailable,
    BadResponse,
    InsufficientCredits,
    NemoError,
    SessionNotFound,
    StreamDropped,
)
from free_generation_image.nemo.models import SessionState
from free_generation_image.nemo.upload import check_file, check_urls, is_text
from free_generation_image.polling import PollPolicy
from free_generation_image.projects import ProjectStore, SavedProject
from free_generation_image.prompting import (
    AspectRatio,
    Kind,
    compose_message,
    detect_language,
    estimate_cost,
    prompt_key,
)
from free_generation_image.store import Store

log = logging.getLogger(__name__)

MAX_PROMPT_CHARS = 8000
MAX_WAIT_SECONDS = 600.0
PROJECT_GONE_NOTE = (
    "The previous project could not be reached any more (for example after a new anonymous token), so a new "
    "project was started; the earlier timeline was not carried over."
)


class LikelyOverBudget(InsufficientCredits):
    """Raised before sending when a generation probably costs more than the available credits."""


def _error_dict(err: FGIError) -> dict[str, str]:
    return {
        "type": type(err).__name__,
        "message": err.message,
        "hint": err.hint,
        "exit_code": str(err.exit_code),
    }


class JobFailed(FGIError):
    """A job ended in failure; carries the original error's message, hint and exit code."""

    def __init__(self, job_id: str, error: dict[str, str] | None) -> None:
        error = error or {}
        super().__init__(error.get("message") or f"Job {job_id} failed.", hint=error.get("hint", ""))
        self.job_id = job_id
        self.error_type = error.get("type", "FGIError")
        with contextlib.suppress(ValueError):
            self.exit_code = int(error.get("exit_code", "1"))


class Service:
    """One per process (MCP server lifespan, or one CLI command). Use as an async context manager."""

    def __init__(
        self,
        settings: Settings,
        *,
        http: httpx2.AsyncClient | None = None,
        client_name: str | None = None,
        # Reads only (never a re-send), so denser than the skill's 30 s / 60 s steps; same ~5 min bound.
        recovery_delays: Sequence[float] = (5, 10, 15, 30, 30, 30, 60, 60, 60),
        poll_policy: PollPolicy | None = None,
        dedupe_window: float = 600.0,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        stream_idle_timeout: float | None = None,
        stream_max_seconds: float | None = None,
    ) -> None:
        self.settings = settings
        self.store = Store(settings.config_dir)
        self.client = NemoClient(settings, self.store, http=http, client_name=client_name, retry_sleep=sleep)
        if stream_idle_timeout is not None:
            self.client.stream_idle_timeout = stream_idle_timeout
        if stream_max_seconds is not None:
            self.client.stream_max_seconds = stream_max_seconds
        self.media = MediaSaver(self.client, settings.output_dir)
        self.jobs = JobRegistry(self.store, settings.api_url)
        self.projects = ProjectStore(self.store, settings.api_url)
        self.recovery_delays = tuple(recovery_delays)
        self.poll_policy = poll_policy or PollPolicy()
        self.dedupe_window = dedupe_window
        self._sleep = sleep
        self._tg: TaskGroup | None = None
        self._project_lock = anyio.Lock()
        self._reconciled = False

    # ----------------------------------------------------------------- lifecycle
    async def __aenter__(self) -> Service:
        await self.client.__aenter__()
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._tg is not None:
                # Jobs still running stay "running" in the log; the next process reconciles them.
                self._tg.cancel_scope.cancel()
                await self._tg.__aexit__(None, None, None)
        finally:
            self._tg = None
            self.jobs.close()
            await self.client.__aexit__(exc_type, exc, tb)

    def set_client_name(self, name: str | None) -> None:
        """The MCP client's name, for attribution when nothing more specific is known."""
        if name:
            self.client.set_client_name(name)

    # ----------------------------------------------------------------- projects
    def current_project(self) -> Project | None:
        saved = self.projects.load()
        return saved.public() if saved else None

    async def _project(self, *, new: bool = False, language_hint: str = "") -> SavedProject:
        async with self._project_lock, self.store.lock("project"):  # also against other processes
            saved = None if new else self.projects.load()
            if saved is None:
                saved = await self._create_project(language_hint)
            elif not saved.link_fresh:
                saved.link = await self._link(saved)
                saved.link_at = time.time()
                self.projects.save(saved)
            return saved

    async def _create_project(self, language_hint: str) -> SavedProject:
        await self.client.ensure_token()
        language = detect_language(language_hint, self.settings.language)
        name = " ".join(language_hint.split())[:60] or "free-generation-image"
        info = await self.client.create_session(task_name=name, language=language)
        saved = SavedProject(
            task_id=info.task_id,
            session_id=info.session_id,
            user_id=self.client.user_id,
            language=language,
            created_at=time.time(),
        )
        saved.link = await self._link(saved)
        saved.link_at = time.time()
        self.projects.save(saved)
        log.info("started project %s (session %s, language %s)", saved.task_id, saved.session_id, language)
        return saved

    async def _link(self, saved: SavedProject) -> str | None:
        try:
            return await self.client.claim_link(saved.task_id, saved.session_id)
        except NemoError as err:
            log.info("no claim link: %s", err)
            return None

    async def _state_or_new_project(
        self, saved: SavedProject, language_hint: str, notes: list[str]
    ) -> tuple[SavedProject, SessionState]:
        """The project's state; if the backend lost the project, start a new one (and say so)."""
        try:
            return saved, await self.client.state(saved.session_id)
        except SessionNotFound:
            notes.append(PROJECT_GONE_NOTE)
            async with self._project_lock:
                saved = await self._create_project(language_hint)
            return saved, await self.client.state(saved.session_id)

    # ----------------------------------------------------------------- credits
    async def credits(self) -> CreditsInfo:
        """Available / frozen / total credits (free to call)."""
        balance = await self.client.credits()
        token = await self.client.ensure_token()
        return CreditsInfo(
            available=balance.available,
            frozen=balance.frozen,
            total=balance.total,
            anonymous=token.anonymous,
            top_up_link=self._top_up_link(),
        )

    def _top_up_link(self) -> str:
        user_id = self.client.user_id
        if user_id and user_id.startswith("anon_"):
            return f"{self.settings.web_url}/register?bind={user_id}"
        return self.settings.web_url

    async def preflight(
        self, prompt: str, kind: Kind = "auto", duration_s: float | None = None
    ) -> tuple[int, int]:
        """(estimated cost, available credits) for a generation, without spending anything."""
        balance = await self.client.credits()
        return estimate_cost(prompt, kind=kind, duration_s=duration_s), balance.available

    # ----------------------------------------------------------------- generate
    async def generate(
        self,
        prompt: str,
        *,
        kind: Kind = "auto",
        aspect_ratio: AspectRatio | None = None,
        duration_s: float | None = None,
        new_project: bool = False,
        wait_seconds: float = 50.0,
        on_progress: ProgressFn | None = None,
        confirmed: bool = False,
    ) -> GenerateResult:
        """Generate media from a prompt; returns the result, or a running job id after ``wait_seconds``."""
        job, dedup = await self.start_generate(
            prompt,
            kind=kind,
            aspect_ratio=aspect_ratio,
            duration_s=duration_s,
            new_project=new_project,
            confirmed=confirmed,
        )
        result = await self.collect_generate(job, wait_seconds, on_progress)
        if dedup:
            result.deduplicated = True
        return result

    async def start_generate(
        self,
        prompt: str,
        *,
        kind: Kind = "auto",
        aspect_ratio: AspectRatio | None = None,
        duration_s: float | None = None,
        new_project: bool = False,
        confirmed: bool = False,
    ) -> tuple[Job, bool]:
        """Validate, check the budget, send the prompt once in a job. Returns (job, deduplicated)."""
        prompt = _check_prompt(prompt)
        if duration_s is not None and not 1 <= duration_s <= 60:
            raise InvalidInput(f"duration_s must be between 1 and 60 seconds, got {duration_s:g}.")
        # A host retrying a timed-out call must get the same job back: match on the normalised request in
        # the same project (or, for new_project=True, on the request alone).
        saved = None if new_project else await self._project(language_hint=prompt)
        key = self._dedupe_key(prompt, kind, aspect_ratio, duration_s, saved.session_id if saved else "new")
        existing = self.jobs.find_duplicate(key, self.dedupe_window)
        if existing is not None:
            log.info("same request as %s: not sending it again", existing.id)
            return existing, True
        if saved is None:
            saved = await self._project(new=True, language_hint=prompt)
        notes: list[str] = []
        saved, before = await self._state_or_new_project(saved, prompt, notes)
        balance = await self.client.credits()
        estimate = estimate_cost(prompt, kind=kind, duration_s=duration_s)
        if not confirmed and balance.available < estimate:
            raise LikelyOverBudget(
                f"This generation likely costs about {estimate} credits and only {balance.available} are "
                "available, so it was not sent.",
                user_id=self.client.user_id,
                web_url=self.settings.web_url,
                code=None,
            )
        message = compose_message(prompt, kind=kind, aspect_ratio=aspect_ratio, duration_s=duration_s)
        job = self.jobs.create(
            "generate",
            session_id=saved.session_id,
            dedupe_key=key,
            params={
                "prompt": prompt,
                "kind": kind,
                "aspect_ratio": aspect_ratio,
                "duration_s": duration_s,
                "credits_before": balance.available,
                "before": _fingerprint(before.raw),
                "notes": notes,
            },
            message="sending the prompt",
        )
        self._spawn(job, lambda: self._run_generate(job, saved, message, before, balance.available, notes))
        return job, False

    def _dedupe_key(
        self, prompt: str, kind: str, aspect: str | None, duration: float | None, scope: str
    ) -> str:
        raw = json.dumps([self.settings.api_url, scope, prompt_key(prompt), kind, aspect, duration])
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    async def _run_generate(
        self,
        job: Job,
        saved: SavedProject,
        message: str,
        before: SessionState,
        credits_before: int,
        notes: list[str],
    ) -> GenerateResult:
        turn = Turn()
        session_id = saved.session_id
        try:
            try:
                await stream_turn(self.client, session_id, message, job, turn, time.monotonic)
            except SessionNotFound:
                # Refused before the stream opened, so the agent never saw the prompt: safe to send once more.
                notes.append(PROJECT_GONE_NOTE)
                async with self._project_lock:
                    saved = await self._create_project(job.record.params["prompt"])
                session_id = saved.session_id
                job.record.session_id = session_id
                before = await self.client.state(session_id)
                await stream_turn(self.client, session_id, message, job, turn, time.monotonic)
            try:
                after = await self.client.state(session_id)
            except (BackendUnavailable, BadResponse) as err:
                # The turn ran (and was charged): failing the job now would invite sending it again.
                log.info("reading the project after the turn failed (%s); reading it on the schedule", err)
                after = await recover(
                    self.client, session_id, before.raw, job, self.recovery_delays, self._sleep
                )
        except StreamDropped as drop:
            log.info("stream dropped after %d events: %s", turn.events, drop)
            turn.finish()
            turn.dropped = True
            notes.append(
                "The connection dropped during the generation; the result was read from the project "
                "instead (the prompt was not sent again)."
            )
            after = await recover(self.client, session_id, before.raw, job, self.recovery_delays, self._sleep)
        return await self._finish_generation(job, saved, turn, before.raw, after, credits_before, notes)

    async def _finish_generation(
        self,
        job: Job,
        saved: SavedProject,
        turn: Turn,
        before: dict[str, Any] | None,
        after: SessionState,
        credits_before: int | None,
        notes: list[str],
    ) -> GenerateResult:
        diff = timeline.diff_states(before, after.raw)
        if turn.errors and not diff.changed:
            raise NemoError(
                f"The backend agent reported an error: {turn.errors[-1]}",
                hint="Nothing changed in the project. Try again in a moment.",
            )
        if turn.errors:
            notes.append(
                f"The agent reported a problem at the end ({turn.errors[-1]}), but the project changed."
            )
        reply, suggestions = reply_and_suggestions(turn, diff)
        job.update(Progress(message="saving generated media"))
        prompt = str(job.record.params.get("prompt", ""))
        credits_after: int | None = None
        with contextlib.suppress(NemoError):
            credits_after = (await self.client.credits()).available
        meta = {
            "prompt": prompt,
            "project": {"task_id": saved.task_id, "session_id": saved.session_id},
            "job_id": job.id,
            "credits": {"before": credits_before, "after": credits_after},
        }
        media = await self.media.save_generated(diff.new_media, prompt, meta, job, notes)
        if (
            timeline.is_ready(timeline.parse_draft(after.draft))
            and "Export it as MP4 (free)" not in suggestions
        ):
            suggestions.append("Export it as MP4 (free)")
        spent = (
            credits_before - credits_after
            if credits_before is not None and credits_after is not None
            else None
        )
        return GenerateResult(
            status="completed",
            job_id=job.id,
            reply=reply,
            changes=diff.lines,
            timeline=timeline.summarize(timeline.parse_draft(after.draft)),
            media=media,
            credits_before=credits_before,
            credits_after=credits_after,
            credits_spent=spent,
            suggestions=suggestions,
            tools_used=turn.tools,
            notes=notes,
            project=saved.public(),
        )

    async def collect_generate(
        self, job: Job, wait_seconds: float, on_progress: ProgressFn | None
    ) -> GenerateResult:
        """Wait up to ``wait_seconds`` for a generation job; its result, or a 'running' view."""
        await job.wait(_bounded_wait(wait_seconds), on_progress)
        return self._generate_view(job)

    def _generate_view(self, job: Job) -> GenerateResult:
        record = job.record
        if record.status == "succeeded" and record.result:
            return GenerateResult.model_validate(record.result)
        if record.status == "running":
            return GenerateResult(
                status="running",
                job_id=job.id,
                progress=record.message,
                credits_before=record.params.get("credits_before"),
                project=self.current_project(),
            )
        if record.status == "cancelled":
            return GenerateResult(status="cancelled", job_id=job.id, progress=record.message)
        raise _failure(job)

    # ----------------------------------------------------------------- export
    async def export(
        self,
        fmt: Literal["mp4", "png"] = "mp4",
        *,
        wait_seconds: float = 50.0,
        output_dir: Path | None = None,
        on_progress: ProgressFn | None = None,
    ) -> ExportResult:
        """Render the timeline and download it; a running job id after ``wait_seconds``. Free."""
        job = await self.start_export(fmt, output_dir=output_dir)
        await job.wait(_bounded_wait(wait_seconds), on_progress)
        return self._export_view(job)

    async def start_export(
        self, fmt: Literal["mp4", "png"] = "mp4", *, output_dir: Path | None = None
    ) -> Job:
        """Check the timeline is ready and start (or join) a render job."""
        if fmt not in ("mp4", "png"):
            raise InvalidInput(
                f"Unknown export format {fmt!r}.", hint="Use mp4 (the video) or png (a still)."
            )
        saved = self.projects.load()
        if saved is None:
            raise NotReady("Nothing to export yet: no project.", hint="Generate an image or video first.")
        notes: list[str] = []
        saved, state = await self._state_or_new_project(saved, "", notes)
        draft = state.draft
        if not timeline.is_ready(timeline.parse_draft(draft)) or draft is None:
            raise NotReady(
                "Nothing to export yet: the timeline is empty.", hint="Generate an image or video first."
            )
        directory = (output_dir or self.settings.output_dir).expanduser()
        draft_hash = hashlib.sha256(json.dumps(draft, sort_keys=True).encode()).hexdigest()[:24]
        key = hashlib.sha256(
            f"{self.settings.api_url}|{saved.session_id}|{fmt}|{draft_hash}|{directory}".encode()
        ).hexdigest()[:32]
        existing = self.jobs.find_duplicate(key, self.dedupe_window)
        if existing is not None:
            return existing
        # Name the file after what the user asked for; the backend's title is the fallback.
        title = _last_prompt(self.jobs.records()) or _draft_title(draft) or "export"
        job = self.jobs.create(
            "export",
            session_id=saved.session_id,
            dedupe_key=key,
            params={"fmt": fmt, "output_dir": str(directory), "title": title, "notes": notes},
            message="starting the render",
        )
        self._spawn(job, lambda: self._run_export(job, saved, draft, notes))
        return job

    async def _run_export(
        self,
        job: Job,
        saved: SavedProject,
        draft: dict[str, Any],
        notes: list[str],
        resume_render_id: str | None = None,
    ) -> ExportResult:
        fmt: Literal["mp4", "png"] = "png" if job.record.params.get("fmt") == "png" else "mp4"
        outcome = await render(
            self.client,
            job,
            saved.session_id,
            draft,
            fmt,
            self.poll_policy,
            self._sleep,
            resume_render_id=resume_render_id,
        )
        notes.extend(outcome.notes)
        render_id = outcome.status.id or job.record.render_id or ""
        if outcome.status.status == "cancelled":
            return ExportResult(
                status="cancelled",
                job_id=job.id,
                format=fmt,
                render_id=render_id,
                notes=notes,
                project=saved.public(),
            )
        url = outcome.status.url
        job.update(Progress(message="downloading", percent=100.0), persist=True)
        expected = files.IMAGE_KINDS if fmt == "png" else files.VIDEO_KINDS
        meta = {
            "project": {"task_id": saved.task_id, "session_id": saved.session_id},
            "render_id": render_id,
            "format": fmt,
            "job_id": job.id,
            "source_url": url,
            "credits": {"spent": 0},
        }
        stem = files.safe_stem(str(job.record.params.get("title") or "export"))
        directory = Path(str(job.record.params.get("output_dir") or self.settings.output_dir))
        if not url:
            notes.append("The backend gave no download URL; used its download endpoint instead.")
        media = await self.media.save(
            url, stem, expected, directory, meta, fallback_render_id=render_id, job=job
        )
        return ExportResult(
            status="completed",
            job_id=job.id,
            format=fmt,
            file=media,
            url=url,
            render_id=render_id,
            notes=notes,
            project=saved.public(),
            percent=100.0,
        )

    def _export_view(self, job: Job) -> ExportResult:
        record = job.record
        fmt: Literal["mp4", "png"] = "png" if record.params.get("fmt") == "png" else "mp4"
        if record.status == "succeeded" and record.result:
            return ExportResult.model_validate(record.result)
        if record.status == "running":
            return ExportResult(
                status="running",
                job_id=job.id,
                format=fmt,
                render_id=record.render_id,
                progress=record.message,
                percent=record.percent,
                project=self.current_project(),
            )
        if record.status == "cancelled":
            return ExportResult(status="cancelled", job_id=job.id, format=fmt, render_id=record.render_id)
        raise _failure(job)

    # ----------------------------------------------------------------- upload
    async def upload(self, sources: Sequence[str]) -> UploadResult:
        """Add local files and/or http(s) URLs to the project (free)."""
        paths, urls = _split_sources(sources)
        saved = await self._project(language_hint="")
        uploaded: list[UploadedItem] = []
        for attempt in (1, 2):
            try:
                if paths:
                    got = await self.client.upload_files(saved.session_id, paths)
                    uploaded += [_item(str(p), f) for p, f in zip(paths, got, strict=False)]
                    paths = []
                if urls:
                    got = await self.client.upload_urls(saved.session_id, urls)
                    uploaded += [_item(u, f) for u, f in zip(urls, got, strict=False)]
                break
            except SessionNotFound:
                if attempt == 2:
                    raise
                async with self._project_lock:
                    saved = await self._create_project("")
        state = await self.client.state(saved.session_id)
        return UploadResult(
            files=uploaded,
            timeline=timeline.summarize(timeline.parse_draft(state.draft)),
            project=saved.public(),
        )

    # ----------------------------------------------------------------- status / cancel
    async def status(
        self, job_id: str | None = None, *, wait_seconds: float = 0.0, on_progress: ProgressFn | None = None
    ) -> StatusResult:
        """Project timeline and recent jobs; with ``job_id``, wait up to ``wait_seconds`` for that job."""
        self.reconcile()
        if job_id:
            job = self.jobs.get(job_id)
            if not job.done and not self.jobs.running_elsewhere(job.record):
                await job.wait(_bounded_wait(wait_seconds), on_progress)
            return self._job_status(job)
        project = self.current_project()
        result = StatusResult(project=project, jobs=[self._summary(r) for r in self.jobs.records()[:10]])
        saved = self.projects.load()
        if saved is not None:
            try:
                state = await self.client.state(saved.session_id)
            except SessionNotFound:
                result.timeline = (
                    "The backend no longer knows this project; the next generation starts a new one."
                )
                return result
            draft = timeline.parse_draft(state.draft)
            result.timeline = timeline.summarize(draft)
            result.ready_to_export = timeline.is_ready(draft)
        return result

    def _job_status(self, job: Job) -> StatusResult:
        summary = self._summary(job.record)
        try:
            if job.record.kind == "generate":
                return StatusResult(job=summary, generate=self._generate_view(job))
            return StatusResult(job=summary, export=self._export_view(job))
        except FGIError as err:
            return StatusResult(job=summary, error=err.user_text())

    def _summary(self, record: JobRecord) -> JobSummary:
        what = str(record.params.get("prompt") or record.params.get("fmt") or "")
        return JobSummary(
            job_id=record.id,
            kind=record.kind,
            status=record.status,
            what=what[:80],
            created_at=record.created_at,
            percent=record.percent,
            message=record.message,
            elsewhere=self.jobs.running_elsewhere(record),
        )

    async def cancel(self, job_id: str) -> CancelResult:
        """Stop waiting on a job; a pending render is cancelled on the backend too."""
        job = self.jobs.get(job_id)
        if job.done:
            return CancelResult(
                job_id=job.id,
                status=job.record.status,
                message=f"Job {job.id} already ended ({job.record.status}); nothing to cancel.",
            )
        render_cancelled = False
        if job.record.kind == "export" and job.record.render_id:
            with contextlib.suppress(NemoError):
                render_cancelled = await self.client.cancel_render(job.record.render_id) is not None
        if self.jobs.running_elsewhere(job.record):
            return CancelResult(
                job_id=job.id,
                status="running",
                render_cancelled=render_cancelled,
                message=f"Job {job.id} belongs to another running process"
                + ("; its render was cancelled." if render_cancelled else "."),
            )
        if job.cancel_scope is not None:
            job.cancel_scope.cancel()
        job.finish("cancelled")
        if job.record.kind == "generate":
            message = (
                f"Stopped following job {job.id}. The backend may still finish this generation (and charge "
                "for it); anything it makes will show up in status and the project."
            )
        else:
            message = f"Export job {job.id} cancelled" + (" (render cancelled)." if render_cancelled else ".")
        return CancelResult(
            job_id=job.id, status="cancelled", render_cancelled=render_cancelled, message=message
        )

    # ----------------------------------------------------------------- chat
    async def chat(
        self, message: str, *, wait_seconds: float = 50.0, on_progress: ProgressFn | None = None
    ) -> ChatResult:
        """Route free text (English or Chinese) to one operation and run it."""
        route = router.route(_check_prompt(message))
        result = ChatResult(operation=route.op, reason=route.reason)
        if route.op == "export":
            result.export = await self.export(
                route.fmt or "mp4", wait_seconds=wait_seconds, on_progress=on_progress
            )
        elif route.op == "credits":
            result.credits = await self.credits()
        elif route.op == "status":
            result.status = await self.status(
                route.job_id, wait_seconds=0 if not route.job_id else wait_seconds
            )
        elif route.op == "upload":
            result.upload = await self.upload(list(route.sources))
        elif route.op == "cancel":
            if not route.job_id:
                raise InvalidInput(
                    "Which job should be cancelled?", hint="Say e.g. 'cancel job_1a2b3c4d5e6f'."
                )
            result.cancel = await self.cancel(route.job_id)
        else:
            result.generate = await self.generate(
                route.prompt or message, wait_seconds=wait_seconds, on_progress=on_progress
            )
        return result

    # ----------------------------------------------------------------- jobs
    def _spawn(self, job: Job, body: Callable[[], Awaitable[GenerateResult | ExportResult]]) -> None:
        if self._tg is None:
            raise RuntimeError("Service is not running; use 'async with Service(...)'")

        async def runner() -> None:
            with anyio.CancelScope() as scope:
                job.cancel_scope = scope
                try:
                    result = await body()
                except FGIError as err:
                    log.info("job %s failed: %s", job.id, err.message)
                    job.exception = err
                    job.finish("failed", error=_error_dict(err))
                except Exception as err:  # a bug must not take the server down; the job reports it
                    log.exception("job %s crashed", job.id)
                    job.finish(
                        "failed",
                        error={
                            "type": type(err).__name__,
                            "exit_code": "1",
                            "message": f"Unexpected error: {type(err).__name__}",
                            "hint": "This is a bug; please report it with the server log.",
                        },
                    )
                else:
                    job.finish(
                        "cancelled" if result.status == "cancelled" else "succeeded",
                        result=result.model_dump(mode="json"),
                    )
            if scope.cancelled_caught and not job.done:
                job.finish("cancelled")

        self._tg.start_soon(runner, name=f"job {job.id}")

    def reconcile(self) -> None:
        """Adopt jobs left running by a process that is gone: resume render polling, re-read state."""
        if self._tg is None:
            return
        for record in list(self.jobs.orphans()):
            job = self.jobs.adopt(record)
            job.update(Progress(message="resuming after a restart"), persist=True)
            if record.kind == "export":
                self._spawn(job, lambda job=job: self._resume_export(job))  # type: ignore[misc]
            else:
                self._spawn(job, lambda job=job: self._resume_generate(job))  # type: ignore[misc]

    async def _resume_export(self, job: Job) -> ExportResult:
        saved = self._saved_for(job)
        state = await self.client.state(saved.session_id)
        if state.draft is None:
            raise NotReady("The project's timeline is gone; nothing to export.")
        notes = list(job.record.params.get("notes") or [])
        notes.append("Resumed after a restart.")
        return await self._run_export(job, saved, state.draft, notes, resume_render_id=job.record.render_id)

    async def _resume_generate(self, job: Job) -> GenerateResult:
        saved = self._saved_for(job)
        try:
            current = (await self.client.state(saved.session_id)).raw
        except (BackendUnavailable, BadResponse):
            current = {}
        before = _unfingerprint(job.record.params.get("before"), current)
        notes = list(job.record.params.get("notes") or [])
        notes.append(
            "The process following this generation stopped before it ended; the result was read from the "
            "project (the prompt was not sent again)."
        )
        # First look at once, then on the usual schedule until the project has changed and held still.
        state = await recover(
            self.client,
            saved.session_id,
            before,
            job,
            (0.0, *self.recovery_delays),
            self._sleep,
        )
        turn = Turn(dropped=True)
        return await self._finish_generation(
            job, saved, turn, before, state, job.record.params.get("credits_before"), notes
        )

    def _saved_for(self, job: Job) -> SavedProject:
        saved = self.projects.load()
        if saved is None or saved.session_id != job.record.session_id:
            if job.record.session_id is None:
                raise NotFound(f"Job {job.id} has no project.")
            return SavedProject(
                task_id=saved.task_id if saved else "",
                session_id=job.record.session_id,
                user_id=None,
                language="en",
                created_at=job.record.created_at,
            )
        return saved


# --------------------------------------------------------------------- helpers
def _failure(job: Job) -> FGIError:
    """The error a failed job ended with: the original one if it failed in this process."""
    if isinstance(job.exception, FGIError):
        return job.exception
    return JobFailed(job.id, job.record.error)


def _check_prompt(prompt: str) -> str:
    if not isinstance(prompt, str):
        raise InvalidInput("The prompt must be text.")
    text = prompt.replace("\x00", "").strip()
    if not text:
        raise InvalidInput("The prompt is empty.", hint="Describe the image or video to make.")
    if not is_text(text):  # undecodable argv bytes arrive as lone surrogates
        raise InvalidInput(
            "The prompt contains bytes that are not text.", hint="Type or paste it again as plain text."
        )
    if len(text) > MAX_PROMPT_CHARS:
        raise InvalidInput(
            f"The prompt is too long ({len(text)} characters; the limit is {MAX_PROMPT_CHARS}).",
            hint="Shorten it to the essentials.",
        )
    return text


def _split_sources(sources: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Local paths (checked: exist, type, size) and http(s) URLs; refused before any request."""
    items = [s.strip() for s in sources if isinstance(s, str) and s.strip()]
    if not items:
        raise InvalidInput("Nothing to upload.", hint="Pass one or more local file paths or http(s) URLs.")
    urls = [s for s in items if s.lower().startswith(("http://", "https://"))]
    paths: list[Path] = []
    for source in items:
        if source in urls:
            continue
        if "://" in source:
            raise InvalidInput(
                f"Unsupported URL scheme in {source!r}.", hint="Only http(s) URLs can be uploaded."
            )
        paths.append(check_file(Path(source).expanduser()).path)
    return paths, check_urls(urls) if urls else []


def _bounded_wait(seconds: float) -> float:
    if seconds != seconds or seconds < 0:  # NaN or negative
        return 0.0
    return min(float(seconds), MAX_WAIT_SECONDS)


_LOGGED_STATE = ("draft", "generated_media", "video_infos", "canvas_config")


def _fingerprint(state: dict[str, Any] | None) -> dict[str, Any]:
    """The parts of a state that matter for 'did anything change' (kept small in the job log)."""
    state = state or {}
    return {key: state[key] for key in _LOGGED_STATE if key in state}


def _unfingerprint(value: Any, current: dict[str, Any]) -> dict[str, Any] | None:
    """The state before a job: its logged parts, and the ``current`` value of the parts not logged.

    Compared with a whole state, a bare fingerprint would make every unlogged key (``video_analyses``)
    look changed, and a resumed generation would end before its media landed.
    """
    if not isinstance(value, dict):
        return None
    return {**{k: v for k, v in current.items() if k not in _LOGGED_STATE}, **value}


def _draft_title(draft: dict[str, Any]) -> str | None:
    meta = draft.get("m")
    title = meta.get("title") if isinstance(meta, dict) else None
    return title if isinstance(title, str) and title.strip() else None


def _last_prompt(records: Sequence[JobRecord]) -> str | None:
    for record in records:
        prompt = record.params.get("prompt")
        if record.kind == "generate" and isinstance(prompt, str):
            return prompt
    return None


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


__all__ = ["JobFailed", "LikelyOverBudget", "Service"]
