"""The operations, shared by the MCP server and the CLI: one facade over projects, jobs and waiting.

Every call returns within its ``wait_seconds`` (plus a small constant) whatever the backend does:
work that talks to the backend runs in a job (generation, export, upload) created before anything is
awaited, and the other calls (credits, cancel, status without a job) are bounded by ``call_seconds``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal, Unpack

import anyio
import anyio.to_thread
import httpx2
from anyio.abc import TaskGroup

from free_generation_image import chat, saving, timeline_words
from free_generation_image.budget import CostBook
from free_generation_image.config import Settings
from free_generation_image.deps import PREPARE_SECONDS, QUEUE_SECONDS, Deps
from free_generation_image.downloads import MediaSaver
from free_generation_image.engine import Engine, JobFailed, failure, local_error
from free_generation_image.errors import FGIError
from free_generation_image.export_job import Exports
from free_generation_image.generate_job import GenerateOptions, GenerateRequest, Generations
from free_generation_image.inputs import MAX_WAIT_SECONDS, bounded_wait, check_prompt
from free_generation_image.jobs import Job, JobRecord, JobRegistry, ProgressFn
from free_generation_image.locks import LockBox, Locks
from free_generation_image.models import (
    CancelResult,
    ChatResult,
    CreditsInfo,
    ExportResult,
    GenerateResult,
    JobSummary,
    Project,
    StatusResult,
    UploadResult,
)
from free_generation_image.nemo import timeline
from free_generation_image.nemo.client import NemoClient
from free_generation_image.nemo.errors import BackendUnavailable, NemoError, SessionNotFound
from free_generation_image.polling import PollPolicy
from free_generation_image.projects import ProjectKeeper
from free_generation_image.prompting import Kind
from free_generation_image.store import Store
from free_generation_image.stores import SharedStores
from free_generation_image.upload_job import Uploads

log = logging.getLogger(__name__)

CALL_SECONDS = 15.0  # calls without a wait_seconds answer within this, or say the backend did not
PARTIAL_MAX_AGE = 15 * 60.0  # a download's temp file untouched this long belongs to a dead process
ADOPT_SECONDS = 2.0  # with a shared store: how often to look for jobs whose owner's lease ran out


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
        call_seconds: float = CALL_SECONDS,
        prepare_seconds: float = PREPARE_SECONDS,
        queue_seconds: float = QUEUE_SECONDS,
        shared: SharedStores | None = None,
    ) -> None:
        self.settings = settings
        self.store = Store(settings.config_dir)
        self.client = NemoClient(settings, self.store, http=http, client_name=client_name, retry_sleep=sleep)
        if stream_idle_timeout is not None:
            self.client.stream_idle_timeout = stream_idle_timeout
        if stream_max_seconds is not None:
            self.client.stream_max_seconds = stream_max_seconds
        self.shared = shared
        self.jobs = JobRegistry(self.store, settings.api_url, log=shared.jobs if shared else None)
        self.engine = Engine(self.jobs)
        locks: Locks = shared.locks if shared else LockBox(settings.config_dir)
        self.projects = ProjectKeeper(
            self.store,
            settings.api_url,
            self.client,
            settings.language,
            locks,
            pointer=shared.projects if shared else None,
        )
        self.media = MediaSaver(self.client, settings.output_dir)
        self.call_seconds = call_seconds
        self._deps = Deps(
            settings=settings,
            client=self.client,
            jobs=self.jobs,
            engine=self.engine,
            projects=self.projects,
            media=self.media,
            costs=CostBook(self.store, settings.api_url),
            turns=locks,
            sleep=sleep,
            recovery_delays=tuple(recovery_delays),
            poll_policy=poll_policy or PollPolicy(),
            dedupe_window=dedupe_window,
            prepare_seconds=prepare_seconds,
            queue_seconds=queue_seconds,
        )
        self.generations = Generations(self._deps)
        self.exports = Exports(self._deps)
        self.uploads = Uploads(self._deps)
        self._tg: TaskGroup | None = None

    @property
    def poll_policy(self) -> PollPolicy:
        return self._deps.poll_policy

    @poll_policy.setter
    def poll_policy(self, policy: PollPolicy) -> None:
        self._deps.poll_policy = policy

    # ----------------------------------------------------------------- lifecycle
    async def __aenter__(self) -> Service:
        await self.client.__aenter__()
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self.engine.attach(self._tg)
        self._tg.start_soon(self._housekeeping, name="housekeeping")
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
            self.engine.attach(None)
            await anyio.to_thread.run_sync(self.jobs.close)
            await self.client.__aexit__(exc_type, exc, tb)

    async def _housekeeping(self) -> None:
        """Start-up tidying off the event loop: old job records, our temp files left by a crash."""
        with contextlib.suppress(OSError, FGIError):  # FGIError: a shared store that is away right now
            pruned = await anyio.to_thread.run_sync(self.jobs.log.prune)
            if pruned:
                log.info("removed %d job records older than a week", pruned)
        removed = await anyio.to_thread.run_sync(
            lambda: saving.remove_stale_partials(self.settings.output_dir, older_than_s=PARTIAL_MAX_AGE)
        )
        if removed:
            log.info("removed %d partial download(s) left by a crash", removed)
        if self.shared is not None:
            # Replicas die without a word: while this user's service is open here, orphans whose lease
            # ran out are adopted without waiting for a call about them.
            while True:
                await anyio.sleep(ADOPT_SECONDS)
                try:
                    await self.engine.reconcile()
                except Exception as err:  # a store that is away (or busy) now: the next round tries again
                    log.info("adoption round skipped: %s", type(err).__name__)

    def set_client_name(self, name: str | None) -> None:
        """The MCP client's name, for attribution when nothing more specific is known."""
        if name:
            self.client.set_client_name(name)

    @contextlib.asynccontextmanager
    async def _bounded(self, what: str) -> AsyncIterator[None]:
        """A call without its own wait: answer within ``call_seconds`` or say the backend did not."""
        try:
            with anyio.fail_after(self.call_seconds):
                yield
        except TimeoutError:
            raise BackendUnavailable(
                f"The NemoVideo backend did not answer within {self.call_seconds:.0f} s ({what}).",
                hint="Nothing was changed. Try again in a minute.",
            ) from None
        except OSError as err:
            raise local_error(err) from err

    # ----------------------------------------------------------------- projects and credits
    async def current_project(self) -> Project | None:
        saved = await self.projects.load()
        return saved.public() if saved else None

    async def credits(self) -> CreditsInfo:
        """Available / frozen / total credits (free to call)."""
        async with self._bounded("reading the credits"):
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
        self, prompt: str, kind: Kind = "auto", *, seconds: float = 5.0
    ) -> tuple[int, int | None]:
        """(estimated cost, available credits or None when unknown in ``seconds``); spends nothing."""
        _, estimate = await self._deps.costs.estimate(check_prompt(prompt), kind)
        available: int | None = None
        with anyio.move_on_after(seconds), contextlib.suppress(NemoError):
            available = (await self.client.credits()).available
        return estimate, available

    # ----------------------------------------------------------------- generate
    async def find_generate(self, prompt: str, **options: Unpack[GenerateOptions]) -> Job | None:
        """The job an identical generate call would join right now (nothing is sent)."""
        return await self.generations.find(GenerateRequest.of(prompt, **options))

    async def start_generate(self, prompt: str, **options: Unpack[GenerateOptions]) -> tuple[Job, bool]:
        """Validate and start (or join) the generation job. Returns (job, joined an identical one)."""
        return await self.generations.start(GenerateRequest.of(prompt, **options))

    async def generate(
        self,
        prompt: str,
        *,
        wait_seconds: float = 50.0,
        on_progress: ProgressFn | None = None,
        **options: Unpack[GenerateOptions],
    ) -> GenerateResult:
        """Generate media from a prompt; returns the result, or a running job id after ``wait_seconds``."""
        job, joined = await self.start_generate(prompt, **options)
        result = await self.collect_generate(job, wait_seconds, on_progress)
        result.deduplicated = result.deduplicated or joined
        return result

    async def collect_generate(
        self, job: Job, wait_seconds: float, on_progress: ProgressFn | None
    ) -> GenerateResult:
        """Wait up to ``wait_seconds`` for a generation job; its result, or a 'running' view."""
        job = await self.wait(job, wait_seconds, on_progress)
        result = self.generations.view(job)
        if result.status == "running":
            result.project = await self.current_project()
        return result

    # ----------------------------------------------------------------- export and upload
    async def start_export(
        self, fmt: Literal["mp4", "png"] = "mp4", *, output_dir: Path | None = None
    ) -> Job:
        """Start (or join) a render job for the current timeline."""
        return await self.exports.start(fmt, output_dir)

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
        job = await self.wait(job, wait_seconds, on_progress)
        result = self.exports.view(job)
        if result.status == "running":
            result.project = await self.current_project()
        return result

    async def upload(
        self, sources: Sequence[str], *, wait_seconds: float = 50.0, on_progress: ProgressFn | None = None
    ) -> UploadResult:
        """Add local files and/or http(s) URLs to the project (free); a job id if it takes longer."""
        job = await self.uploads.start(list(sources))
        job = await self.wait(job, wait_seconds, on_progress)
        return self.uploads.view(job)

    # ----------------------------------------------------------------- waiting on jobs
    async def job(self, job_id: str) -> Job:
        """A job of this process or from the log; NotFound with a hint otherwise."""
        return await anyio.to_thread.run_sync(self.jobs.get, job_id)

    async def wait(self, job: Job, seconds: float, on_progress: ProgressFn | None = None) -> Job:
        """Wait up to ``seconds`` for a job, here or in another process; adopt it if its process died."""
        deadline = anyio.current_time() + bounded_wait(seconds)
        while not job.done:
            remaining = deadline - anyio.current_time()
            live = self.jobs.live(job.id)
            if live is not None:
                await live.wait(remaining, on_progress)
                return live
            if await self._elsewhere(job.record):
                await self.jobs.follow(job, remaining, on_progress)
                if job.done or anyio.current_time() >= deadline or await self._elsewhere(job.record):
                    return job
            # Its process is gone: take the job over (never re-sending), then keep waiting on it here.
            await self.engine.reconcile()
            if self.jobs.live(job.id) is None:
                return job
        return job

    async def _elsewhere(self, record: JobRecord) -> bool:
        """Whether another process (or replica) runs the job; off the loop: a shared store asks Redis."""
        return await anyio.to_thread.run_sync(self.jobs.running_elsewhere, record)

    # ----------------------------------------------------------------- status / cancel
    async def status(
        self, job_id: str | None = None, *, wait_seconds: float = 0.0, on_progress: ProgressFn | None = None
    ) -> StatusResult:
        """Project timeline and recent jobs; with ``job_id``, wait up to ``wait_seconds`` for that job."""
        await self.engine.reconcile()
        if job_id:
            job = await anyio.to_thread.run_sync(self.jobs.get, job_id)
            job = await self.wait(job, wait_seconds, on_progress)
            return self._job_status(job)
        records = await anyio.to_thread.run_sync(self.jobs.records, 10)
        saved = await self.projects.load()
        result = StatusResult(
            project=saved.public() if saved else None, jobs=[self._summary(r) for r in records]
        )
        if saved is not None:
            async with self._bounded("reading the project"):
                try:
                    state = await self.client.state(saved.session_id)
                except SessionNotFound:
                    result.timeline = (
                        "The backend no longer knows this project; the next generation starts a new one."
                    )
                    return result
            draft = timeline.parse_draft(state.draft)
            result.timeline = timeline_words.summarize(draft)
            result.ready_to_export = timeline.is_ready(draft)
        return result

    def _job_status(self, job: Job) -> StatusResult:
        summary = self._summary(job.record)
        try:
            if job.record.kind == "generate":
                return StatusResult(job=summary, generate=self.generations.view(job))
            if job.record.kind == "upload":
                return StatusResult(job=summary, upload=self.uploads.view(job))
            return StatusResult(job=summary, export=self.exports.view(job))
        except FGIError as err:
            return StatusResult(job=summary, error=err.user_text())

    def _summary(self, record: JobRecord) -> JobSummary:
        params = record.params
        what = params.get("prompt") or params.get("fmt") or ", ".join(map(str, params.get("sources") or []))
        return JobSummary(
            job_id=record.id,
            kind=record.kind,
            status=record.status,
            what=str(what)[:80],
            created_at=record.created_at,
            percent=record.percent,
            message=record.message,
            elsewhere=self.jobs.running_elsewhere(record),
        )

    async def cancel(self, job_id: str) -> CancelResult:
        """Stop waiting on a job; a pending render is cancelled on the backend too."""
        job = await anyio.to_thread.run_sync(self.jobs.get, job_id)
        if job.done:
            return CancelResult(
                job_id=job.id,
                status=job.record.status,
                message=f"Job {job.id} already ended ({job.record.status}); nothing to cancel.",
            )
        render_cancelled = False
        if job.record.kind == "export" and job.record.render_id:
            with contextlib.suppress(NemoError, TimeoutError), anyio.fail_after(self.call_seconds):
                render_cancelled = await self.client.cancel_render(job.record.render_id) is not None
        if await self._elsewhere(job.record):
            return CancelResult(
                job_id=job.id,
                status="running",
                render_cancelled=render_cancelled,
                message=f"Job {job.id} belongs to another running process"
                + ("; its render was cancelled." if render_cancelled else "."),
            )
        if job.cancel_scope is not None:
            job.cancel_scope.cancel()
        await job.end("cancelled")
        if job.record.kind == "generate":
            message = (
                f"Stopped following job {job.id}. If its prompt was already sent, the backend may still "
                "finish it (and charge for it); anything it makes shows up in status and the project."
            )
        elif job.record.kind == "upload":
            message = f"Upload job {job.id} stopped; files already sent stay in the project."
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
        return await chat.run(self, message, wait_seconds=wait_seconds, on_progress=on_progress)

    # ----------------------------------------------------------------- restarts
    async def reconcile(self) -> int:
        """Adopt jobs left running by a process that is gone: resume render polling, re-read state."""
        return await self.engine.reconcile()


__all__ = ["MAX_WAIT_SECONDS", "JobFailed", "Service", "failure"]
