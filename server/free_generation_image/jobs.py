"""Jobs: long work (generation, export, upload) that outlives the call that started it, and the process.

A job is recorded in the job log (``joblog.py``) before anything is awaited for it, so identical
concurrent calls find it. A job whose record says ``running`` but whose owner process is gone was
interrupted; the service reconciles it. A job another process runs can be followed through its file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread

from free_generation_image import liveness
from free_generation_image.errors import NotFound
from free_generation_image.joblog import TERMINAL, JobKind, JobLog, JobRecord, JobStatus
from free_generation_image.store import Store

if TYPE_CHECKING:
    from free_generation_image.stores import JobStore

log = logging.getLogger(__name__)

MAX_LISTED = 20
# What a finished job says it is doing (its last progress line, "downloading", would be untrue).
_ENDED = {"succeeded": "done", "failed": "failed", "cancelled": "cancelled", "interrupted": "interrupted"}
FOLLOW_POLL = 0.25  # following another process's job: noticed within this


@dataclass
class Progress:
    """One progress update: ``percent`` when known, a short message, and streamed agent text if any."""

    message: str
    percent: float | None = None
    text_delta: str = ""
    elapsed: float = 0.0
    bytes_done: int | None = None  # a download in progress: bytes saved so far
    bytes_total: int | None = None  # ... and its announced size, when the server gave one


ProgressFn = Callable[[Progress], Awaitable[None]]


class Job:
    """A live job: its record plus the in-process machinery to wait on it and watch it."""

    def __init__(self, record: JobRecord, registry: JobRegistry) -> None:
        self.record = record
        self._registry = registry
        self._changed = anyio.Event()
        self._done = anyio.Event()
        self.cancel_scope: anyio.CancelScope | None = None
        self.exception: BaseException | None = None  # the live error, re-raised to in-process callers
        self.last_progress = Progress(message=record.message, percent=record.percent)
        self.text = ""  # the agent text streamed so far (memory only), so no waiter misses or repeats any
        # Set once the backend has the work (the prompt's stream opened, the render was submitted): a CLI run
        # with --wait 0 may exit from then on without stopping the job before it reached the backend.
        self.handed_off = anyio.Event()
        self.lost = False  # another replica took it over (its lease ran out while the store was away)
        if record.done:
            self._done.set()

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def done(self) -> bool:
        return self.record.done

    def update(self, progress: Progress, *, persist: bool = False) -> None:
        """Record progress and wake waiters; persisting is for milestones, not every heartbeat."""
        self.last_progress = progress
        self.text += progress.text_delta
        self.record.message = progress.message
        if progress.percent is not None:
            self.record.percent = progress.percent
        self.record.updated_at = time.time()
        if persist:
            self._registry.save(self.record)
        self._wake()

    def save(self) -> None:
        self._registry.save(self.record)

    def finish(
        self, status: JobStatus, *, result: dict[str, Any] | None = None, error: dict[str, str] | None = None
    ) -> None:
        """Move to a terminal state (once), queue the write, wake everybody."""
        if self._close(status, result, error):
            self._wake_done()

    async def end(
        self, status: JobStatus, *, result: dict[str, Any] | None = None, error: dict[str, str] | None = None
    ) -> None:
        """``finish``, waking waiters only once the record is on disk (so what they read there is whole)."""
        if self._close(status, result, error):
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._registry.log.flush)
            self._wake_done()

    def _close(self, status: JobStatus, result: dict[str, Any] | None, error: dict[str, str] | None) -> bool:
        if self.record.done:
            return False
        self.record.status = status
        self.record.message = _ENDED.get(status, status)
        self.record.result = result
        self.record.error = error
        self.record.updated_at = time.time()
        self._registry.save(self.record)
        return True

    def _wake_done(self) -> None:
        self._done.set()
        self.handed_off.set()
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    async def wait(self, timeout: float, on_progress: ProgressFn | None = None, *, tick: float = 5.0) -> bool:
        """Wait up to ``timeout`` s for the job to end; report progress on changes and every ``tick`` s."""
        start = time.monotonic()
        deadline = start + max(0.0, timeout)
        shown = len(self.text)
        while not self.done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            changed = self._changed
            with anyio.move_on_after(min(remaining, tick)):
                await changed.wait()
            if on_progress is not None and not self.done:
                # Several updates can land between two wake-ups and a tick repeats the last one: the text
                # comes from the accumulated stream, so none is lost and none is shown twice.
                elapsed = time.time() - self.record.created_at
                progress = replace(self.last_progress, text_delta=self.text[shown:], elapsed=elapsed)
                shown = len(self.text)
                await on_progress(progress)
        return self.done

    async def wait_done(self) -> None:
        await self._done.wait()


def new_job_id() -> str:
    return "job_" + secrets.token_hex(6)


class JobRegistry:
    """Live jobs of this process plus the job log of recent ones (this and other processes')."""

    def __init__(
        self,
        store: Store,
        api_url: str,
        *,
        clock: Callable[[], float] = time.time,
        log: JobStore | None = None,
    ) -> None:
        self.log: JobStore = log if log is not None else JobLog(store, api_url, clock=clock)
        self._api_url = api_url
        self._clock = clock
        self._live: dict[str, Job] = {}
        self._creating = anyio.Lock()
        self.owner = secrets.token_hex(8)
        liveness.LIVE_OWNERS.add(self.owner)
        self._loop: anyio.lowlevel.EventLoopToken | None = None
        self.log.on_lost(self._lost)

    def close(self) -> None:
        """Write what is queued and forget this registry's ownership: unfinished jobs become orphans."""
        self.log.close()
        self.log.release(self.owner)
        liveness.LIVE_OWNERS.discard(self.owner)

    def _alive(self, record: JobRecord) -> bool:
        return self.log.owner_alive(record)

    def _record(
        self,
        kind: JobKind,
        session_id: str | None,
        dedupe_key: str | None,
        params: dict[str, Any],
        message: str,
    ) -> JobRecord:
        now = self._clock()
        return JobRecord(
            id=new_job_id(),
            kind=kind,
            status="running",
            created_at=now,
            updated_at=now,
            pid=os.getpid(),
            api_url=self._api_url,
            owner=self.owner,
            session_id=session_id,
            dedupe_key=dedupe_key,
            params=dict(params),
            message=message,
        )

    def _register(self, record: JobRecord) -> Job:
        with contextlib.suppress(RuntimeError):  # the loop that runs the job, for the lease thread
            self._loop = anyio.lowlevel.current_token()
        job = self._live[record.id] = Job(record, self)
        return job

    def _lost(self, job_id: str) -> None:
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: so is the job
                anyio.from_thread.run_sync(self._give_up, job_id, token=self._loop)

    def _give_up(self, job_id: str) -> None:
        """Stop a job another replica now owns; it records nothing more (its new owner does)."""
        job = self._live.pop(job_id, None)
        if job is None:
            return
        job.lost = True
        if job.cancel_scope is not None:
            job.cancel_scope.cancel()
        job._wake()

    def create(
        self,
        kind: JobKind,
        *,
        session_id: str | None,
        dedupe_key: str | None = None,
        params: dict[str, Any] | None = None,
        message: str = "starting",
    ) -> Job:
        """A new job, written to the log before returning (blocking; prefer ``create_or_join``)."""
        record = self._record(kind, session_id, dedupe_key, dict(params or {}), message)
        self.log.save_now(record)
        return self._register(record)

    async def create_or_join(
        self,
        kind: JobKind,
        *,
        dedupe_key: str,
        window: float,
        session_id: str | None = None,
        params: dict[str, Any] | None = None,
        message: str = "starting",
        also: Callable[[JobRecord], bool] | None = None,
    ) -> tuple[Job, bool]:
        """The running (or recently succeeded) job with this key (or that ``also`` accepts), else a new
        one: atomic across processes. Returns (job, joined); nothing is awaited between check and creation.
        """

        def make() -> JobRecord:
            return self._record(kind, session_id, dedupe_key, dict(params or {}), message)

        def find(records: list[JobRecord]) -> JobRecord | None:
            return self._match(records, dedupe_key, window, also)

        async with self._creating:  # in-process twins: the second waits until the first is registered
            record, joined = await anyio.to_thread.run_sync(self.log.create_or_join, make, find)
            if not joined:
                return self._register(record), False
            return self._live.get(record.id) or Job(record, self), True

    def _match(
        self,
        records: list[JobRecord],
        dedupe_key: str,
        window: float,
        also: Callable[[JobRecord], bool] | None = None,
    ) -> JobRecord | None:
        now = self._clock()
        for record in records:
            live = self._live.get(record.id)
            record = live.record if live is not None else record
            if record.dedupe_key != dedupe_key and (also is None or not also(record)):
                continue
            if record.status == "running" and (live is not None or self._alive(record)):
                return record
            if record.status == "succeeded" and now - record.updated_at < window:
                return record
        return None

    def save(self, record: JobRecord) -> None:
        self.log.save(record)

    def claim(self, record: JobRecord) -> bool:
        """Win the right to adopt an orphan (a lease with a shared store; blocking)."""
        return self.log.claim(record, self.owner)

    def adopt(self, record: JobRecord) -> Job:
        """Take over a job left by a dead process (same id, this pid), once ``claim`` said it is ours."""
        record.pid = os.getpid()
        record.owner = self.owner
        job = self._register(record)
        self.save(record)
        return job

    def get(self, job_id: str) -> Job:
        """A live job, or one from the log (a view). Blocking when not live: call from a worker thread."""
        job_id = job_id.strip() if isinstance(job_id, str) else ""
        live = self._live.get(job_id)
        if live is not None:
            return live
        record = self.log.refresh().get(job_id) if _valid_id(job_id) else None
        if record is None or record.api_url != self._api_url:
            shown = job_id if len(job_id) <= 60 else job_id[:59] + "…"  # the caller's text: any length
            raise NotFound(f"No job {shown!r}.", hint="Call status without a job id to list recent jobs.")
        return Job(record, self)

    def live(self, job_id: str) -> Job | None:
        return self._live.get(job_id)

    def find_duplicate(
        self, dedupe_key: str, window: float, also: Callable[[JobRecord], bool] | None = None
    ) -> Job | None:
        """A running job with this key, or one that succeeded less than ``window`` s ago (blocking)."""
        record = self._match(self.log.recent(), dedupe_key, window, also)
        if record is None:
            return None
        return self._live.get(record.id) or Job(record, self)

    def records(self, limit: int | None = None) -> list[JobRecord]:
        """Recent jobs for this API URL, newest first; live ones as this process knows them (blocking)."""
        logged = self.log.recent()
        if not self._live:
            return logged[:limit]
        live = {job_id: job.record for job_id, job in self._live.items()}
        merged = [live.pop(r.id, r) for r in logged]
        if live:  # not yet seen in the folder
            merged = sorted([*merged, *live.values()], key=lambda r: r.created_at, reverse=True)
        return merged[:limit]

    def orphans(self) -> Iterator[JobRecord]:
        """Jobs the log says are running whose owning process is gone (blocking)."""
        for record in self.log.running():
            if record.id not in self._live and not self._alive(record):
                yield record

    def running_elsewhere(self, record: JobRecord) -> bool:
        return record.id not in self._live and record.status == "running" and self._alive(record)

    async def follow(self, job: Job, timeout: float, on_progress: ProgressFn | None = None) -> None:
        """Wait up to ``timeout`` s for a job another process runs, reading its file as it changes.

        Returns early when it ends or its owner dies (the caller then reconciles it).
        """
        deadline = time.monotonic() + max(0.0, timeout)
        stamp = await anyio.to_thread.run_sync(self.log.stamp, job.id)
        last_report = time.monotonic()
        while not job.done and await anyio.to_thread.run_sync(self._alive, job.record):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            await anyio.sleep(min(FOLLOW_POLL, remaining))
            now_stamp = await anyio.to_thread.run_sync(self.log.stamp, job.id)
            changed = now_stamp != stamp
            if changed:
                stamp = now_stamp
                record = await anyio.to_thread.run_sync(self.log.load, job.id)
                if record is not None:
                    job.record = record
                    job.last_progress = Progress(message=record.message, percent=record.percent)
            if (
                on_progress is not None
                and not job.done
                and (changed or time.monotonic() - last_report >= 5.0)
            ):
                last_report = time.monotonic()
                await on_progress(replace(job.last_progress, elapsed=time.time() - job.record.created_at))


def _valid_id(job_id: str) -> bool:
    return job_id.startswith("job_") and job_id[4:].isalnum() and len(job_id) <= 40


__all__ = [
    "TERMINAL",
    "Job",
    "JobKind",
    "JobRecord",
    "JobRegistry",
    "JobStatus",
    "Progress",
    "ProgressFn",
    "new_job_id",
]
