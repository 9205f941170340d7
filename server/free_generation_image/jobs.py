"""Jobs: long work (generation, export) that outlives the call that started it, and the process.

Each job is mirrored to ``jobs/<id>.json`` in the config dir (atomic replace, one file per job, so two
processes sharing the dir never clobber each other). A job whose file says ``running`` but whose owner
process is gone was interrupted; the service reconciles it on start-up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import anyio

from free_generation_image.errors import NotFound
from free_generation_image.store import Store

log = logging.getLogger(__name__)

JobKind = Literal["generate", "export"]
JobStatus = Literal["running", "succeeded", "failed", "cancelled", "interrupted"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled", "interrupted"})
KEEP_SECONDS = 7 * 24 * 3600
MAX_LISTED = 20


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


@dataclass
class JobRecord:
    """The persisted part of a job."""

    id: str
    kind: JobKind
    status: JobStatus
    created_at: float
    updated_at: float
    pid: int
    api_url: str
    owner: str = ""
    session_id: str | None = None
    dedupe_key: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    render_id: str | None = None
    renders_submitted: int = 0
    percent: float | None = None
    message: str = ""
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


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
        """Move to a terminal state (once), persist, wake everybody."""
        if self.record.done:
            return
        self.record.status = status
        self.record.result = result
        self.record.error = error
        self.record.updated_at = time.time()
        self._registry.save(self.record)
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


# Registries alive in this process: a job whose owner is not here and whose pid is ours was left by a
# service instance that has already closed (tests, or an embedding app that restarts the service).
_LIVE_OWNERS: set[str] = set()


def _owner_alive(record: JobRecord) -> bool:
    if record.pid == os.getpid():
        return record.owner in _LIVE_OWNERS
    return _pid_alive(record.pid)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)  # signal 0: existence check only (on Windows os.kill would terminate it)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but not ours to signal
    return True


if sys.platform == "win32":

    def _windows_pid_alive(pid: int) -> bool:
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return bool(kernel32.GetLastError() == 5)  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)


class JobRegistry:
    """Live jobs of this process plus the on-disk log of recent ones."""

    def __init__(self, store: Store, api_url: str, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._api_url = api_url
        self._clock = clock
        self._live: dict[str, Job] = {}
        self.owner = secrets.token_hex(8)
        _LIVE_OWNERS.add(self.owner)

    def close(self) -> None:
        """Forget this registry's ownership: its unfinished jobs become orphans for the next one."""
        _LIVE_OWNERS.discard(self.owner)

    def create(
        self,
        kind: JobKind,
        *,
        session_id: str | None,
        dedupe_key: str | None = None,
        params: dict[str, Any] | None = None,
        message: str = "starting",
    ) -> Job:
        now = self._clock()
        record = JobRecord(
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
            params=dict(params or {}),
            message=message,
        )
        job = Job(record, self)
        self._live[job.id] = job
        self.save(record)
        return job

    def save(self, record: JobRecord) -> None:
        try:
            self._store.write_json(f"jobs/{record.id}.json", asdict(record))
        except OSError as err:  # the job still runs; only its persistence is degraded
            log.warning("could not write the job log for %s: %s", record.id, err)

    def adopt(self, record: JobRecord) -> Job:
        """Take over a job left by a dead process (same id, this pid)."""
        record.pid = os.getpid()
        record.owner = self.owner
        job = Job(record, self)
        self._live[job.id] = job
        self.save(record)
        return job

    def get(self, job_id: str) -> Job:
        """A live job, or one from the log (read-only view)."""
        job_id = job_id.strip()
        if job_id in self._live:
            return self._live[job_id]
        record = self._load(f"jobs/{job_id}.json") if _valid_id(job_id) else None
        if record is None:
            shown = job_id if len(job_id) <= 60 else job_id[:59] + "…"  # the caller's text: any length
            raise NotFound(f"No job {shown!r}.", hint="Call status without a job id to list recent jobs.")
        return Job(record, self)

    def find_duplicate(self, dedupe_key: str, window: float) -> Job | None:
        """A running job with this key, or one that succeeded less than ``window`` s ago."""
        now = self._clock()
        for record in self.records():
            if record.dedupe_key != dedupe_key:
                continue
            if record.status == "running" or (
                record.status == "succeeded" and now - record.updated_at < window
            ):
                return self._live.get(record.id) or Job(record, self)
        return None

    def records(self) -> list[JobRecord]:
        """Recent jobs for this API URL, newest first (live ones override the log)."""
        by_id: dict[str, JobRecord] = {}
        cutoff = self._clock() - KEEP_SECONDS
        for name in self._store.list("jobs"):
            record = self._load(name)
            if record is None:
                continue
            if record.updated_at < cutoff and record.done:
                self._store.delete(name)
                continue
            if record.api_url == self._api_url:
                by_id[record.id] = record
        for job_id, job in self._live.items():
            by_id[job_id] = job.record
        return sorted(by_id.values(), key=lambda r: r.created_at, reverse=True)

    def orphans(self) -> Iterator[JobRecord]:
        """Jobs the log says are running whose owning process is gone."""
        for record in self.records():
            if record.status == "running" and record.id not in self._live and not _owner_alive(record):
                yield record

    def running_elsewhere(self, record: JobRecord) -> bool:
        return record.id not in self._live and record.status == "running" and _owner_alive(record)

    def _load(self, name: str) -> JobRecord | None:
        raw = self._store.read_json(name)
        if not isinstance(raw, dict):
            return None
        with contextlib.suppress(TypeError, ValueError):
            return JobRecord(**{k: v for k, v in raw.items() if k in JobRecord.__dataclass_fields__})
        log.warning("ignoring unreadable job file %s", name)
        return None


def _valid_id(job_id: str) -> bool:
    return job_id.startswith("job_") and job_id[4:].isalnum() and len(job_id) <= 40
