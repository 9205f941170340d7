"""The job log on disk: one JSON file per job under ``jobs/``, cached in memory, written off the loop.

Reading: a call looks at the folder's mtime; only when it moved are entries stat-ed, and only changed
files re-read, so a call's cost does not grow with history. A file of the wrong shape is set aside
(``.corrupt``) and logged, like a garbled one: local state is never a reason to stop serving.
Writing: progress milestones go through one writer thread (latest snapshot per job wins, in order);
a new job is written at once, under an inter-process lock, so twin requests find it.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import filelock
from pydantic import TypeAdapter, ValidationError

from free_generation_image import liveness
from free_generation_image.store import Store, atomic_write_bytes

log = logging.getLogger(__name__)

JobKind = Literal["generate", "export", "upload"]
JobStatus = Literal["running", "succeeded", "failed", "cancelled", "interrupted"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled", "interrupted"})
KEEP_SECONDS = 7 * 24 * 3600
CREATE_LOCK_SECONDS = 10.0


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


_RECORD = TypeAdapter(JobRecord)


def parse_record(raw: bytes) -> JobRecord | None:
    """A record from file bytes, or None when they are not a job record of the right shape."""
    try:
        return _RECORD.validate_json(raw, strict=True)
    except ValidationError:
        return None


def encode(record: JobRecord) -> bytes:
    return json.dumps(asdict(record), ensure_ascii=False, indent=1).encode("utf-8")


_WRITERS: weakref.WeakSet[SnapshotWriter] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    # atexit runs before daemon threads are stopped: a process that ends without closing its service
    # still leaves every job file whole and up to date.
    for writer in list(_WRITERS):
        writer.flush(timeout=5.0)


class SnapshotWriter:
    """One daemon thread writing job snapshots in order; the latest snapshot of a job replaces older ones."""

    def __init__(self, sink: Callable[[str, bytes], None]) -> None:
        self._sink = sink
        self._pending: dict[str, bytes] = {}
        self._busy = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        _WRITERS.add(self)

    def put(self, job_id: str, data: bytes) -> None:
        with self._cond:
            self._pending[job_id] = data
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fgi-job-writer", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def drop(self, job_id: str) -> None:
        """Forget a queued snapshot that a direct write has overtaken."""
        with self._cond:
            self._pending.pop(job_id, None)

    def flush(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    log.warning("job log writes still pending after %.0f s", timeout)
                    return
                self._cond.wait(left)

    def stop(self) -> None:
        """Write what is queued, then end the thread (a later ``put`` starts a new one)."""
        self.flush()
        with self._cond:
            thread, self._thread = self._thread, None
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout=5.0)

    def _run(self) -> None:
        me = threading.current_thread()
        while True:
            with self._cond:
                while self._thread is me and not self._pending:
                    if not self._cond.wait(30.0) and not self._pending:
                        self._thread = None  # idle: a later put starts a new thread
                        return
                if self._thread is not me:  # stopped (a newer thread, if any, takes the queue)
                    return
                batch, self._pending = self._pending, {}
                self._busy = True
            for job_id, data in batch.items():
                self._sink(job_id, data)
            with self._cond:
                self._busy = False
                self._cond.notify_all()


def write_file(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write_bytes(path, data)
    except OSError as err:  # the job still runs; only its persistence is degraded
        log.warning("could not write the job log file %s: %s", path.name, err)


class QueuedWrites:
    """A job store whose snapshots are written by a ``SnapshotWriter`` thread, in order."""

    _writer: SnapshotWriter

    def save(self, record: JobRecord) -> None:
        """Queue a snapshot of ``record`` for the writer thread (returns at once)."""
        self._writer.put(record.id, encode(record))

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        """Write what is queued and stop the writer thread (blocking)."""
        self._writer.stop()


class OneMachine:
    """Liveness on one machine: the pid check decides; there is no lease to claim, give back or lose."""

    def owner_alive(self, record: JobRecord) -> bool:
        """Whether the process that owns a running record still runs (a pid check on this machine)."""
        return liveness.owner_alive(record.pid, record.owner)

    def claim(self, record: JobRecord, owner: str) -> bool:
        """Take over an orphan: the pid check already decided it is one, and nobody races for it."""
        return True

    def release(self, owner: str) -> None:
        """Nothing to give back: a closed owner is dead to the pid check through ``liveness``."""

    def on_lost(self, hook: Callable[[str], None]) -> None:
        """No leases to lose: ``hook`` is never called."""


class JobLog(QueuedWrites, OneMachine):
    """Records of recent jobs for one API URL, as the folder holds them (all processes' jobs)."""

    def __init__(self, store: Store, api_url: str, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self.folder = store.path("jobs")
        self._api_url = api_url
        self._clock = clock
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._entries: dict[str, tuple[int, int, JobRecord | None]] = {}  # name -> (mtime, size, record)
        self._by_id: dict[str, JobRecord] = {}
        self._mine: list[JobRecord] = []  # this API URL's records, newest first
        self._writer = SnapshotWriter(lambda job_id, data: write_file(self.folder / f"{job_id}.json", data))
        self._create_lock = filelock.FileLock(
            str(self.folder / ".create.lock"), thread_local=False, mode=0o600
        )

    # ---------------------------------------------------------------- reading
    def refresh(self) -> dict[str, JobRecord]:
        """Every readable record in the folder (any API URL), by id; cheap when nothing changed."""
        with self._lock:
            self._update()
            return dict(self._by_id)

    def _update(self) -> None:
        try:
            stamp = self.folder.stat().st_mtime_ns
        except OSError:
            self._entries.clear()
            self._stamp = None
            self._by_id, self._mine = {}, []
            return
        if stamp == self._stamp:
            return
        self._rescan()
        self._stamp = stamp
        self._by_id = {rec.id: rec for _, _, rec in self._entries.values() if rec is not None}
        mine = [r for r in self._by_id.values() if r.api_url == self._api_url]
        self._mine = sorted(mine, key=lambda r: r.created_at, reverse=True)

    def _rescan(self) -> None:
        seen: dict[str, tuple[int, int, JobRecord | None]] = {}
        try:
            entries = list(os.scandir(self.folder))
        except OSError as err:
            log.warning("cannot list the job log: %s", err)
            return
        for entry in entries:
            name = entry.name
            if not name.endswith(".json") or name.startswith("."):
                continue
            try:
                st = entry.stat()
            except OSError:
                continue
            old = self._entries.get(name)
            if old is not None and old[0] == st.st_mtime_ns and old[1] == st.st_size:
                seen[name] = old
                continue
            seen[name] = (st.st_mtime_ns, st.st_size, self._read(Path(entry.path)))
        self._entries = seen

    def _read(self, path: Path) -> JobRecord | None:
        try:
            raw = path.read_bytes()
        except OSError as err:
            log.warning("cannot read the job file %s: %s", path.name, err)
            return None
        record = parse_record(raw)
        if record is None or path.stem != record.id:
            log.warning("job file %s is unreadable or of the wrong shape; set aside as .corrupt", path.name)
            with contextlib.suppress(OSError):
                os.replace(path, path.with_name(path.name + ".corrupt"))
            return None
        return record

    def load(self, job_id: str) -> JobRecord | None:
        """One record, read fresh from its file (for following a job another process runs)."""
        path = self.folder / f"{job_id}.json"
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        return parse_record(raw)

    def stamp(self, job_id: str) -> int | None:
        """Changes whenever the job's record is rewritten (here: the file's mtime)."""
        return self.mtime(job_id)

    def mtime(self, job_id: str) -> int | None:
        try:
            return (self.folder / f"{job_id}.json").stat().st_mtime_ns
        except OSError:
            return None

    def recent(self) -> list[JobRecord]:
        """Records of this API URL, newest first (sorted once per change of the folder)."""
        with self._lock:
            self._update()
            return list(self._mine)

    def running(self) -> list[JobRecord]:
        """Records of this API URL that say they are running."""
        with self._lock:
            self._update()
            return [r for r in self._mine if r.status == "running"]

    # ---------------------------------------------------------------- writing
    def save_now(self, record: JobRecord) -> None:
        """Write ``record`` before returning (blocking: call from a worker thread)."""
        self._writer.drop(record.id)
        write_file(self.folder / f"{record.id}.json", encode(record))

    def create_or_join(
        self, make: Callable[[], JobRecord], find: Callable[[list[JobRecord]], JobRecord | None]
    ) -> tuple[JobRecord, bool]:
        """Atomically (across processes): the record ``find`` picks among recent ones, else a new one.

        Blocking: call from a worker thread. If the lock cannot be had (a read-only config dir, a stuck
        process) the check still runs, just without the cross-process guarantee.
        """
        held = False
        try:
            self._store.ensure()
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._create_lock.acquire(timeout=CREATE_LOCK_SECONDS)
            held = True
        except (filelock.Timeout, OSError) as err:
            log.warning("creating a job without the job-log lock: %s", err)
        try:
            existing = find(self.recent())
            if existing is not None:
                return existing, True
            record = make()
            self.save_now(record)
            return record, False
        finally:
            if held:
                self._create_lock.release()

    def prune(self) -> int:
        """Delete finished jobs older than a week (blocking). Returns how many."""
        cutoff = self._clock() - KEEP_SECONDS
        removed = 0
        for record in self.refresh().values():
            if record.done and record.updated_at < cutoff:
                with contextlib.suppress(OSError):
                    (self.folder / f"{record.id}.json").unlink()
                    removed += 1
        return removed


__all__ = [
    "TERMINAL",
    "JobKind",
    "JobLog",
    "JobRecord",
    "JobStatus",
    "OneMachine",
    "QueuedWrites",
    "SnapshotWriter",
    "encode",
    "parse_record",
]
