"""The embedded store of the remote server: every user's jobs and project pointer in one SQLite file.

One machine (WAL, one file to back up): liveness is the pid check, locks are OS file locks. The same
interfaces as the Redis store (``stores.py``), so the same behaviour tests run on both. Every method is
blocking: the registry calls them from worker threads, except ``save`` (queued for a writer thread).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

from free_generation_image.errors import FGIError
from free_generation_image.joblog import (
    KEEP_SECONDS,
    JobRecord,
    OneMachine,
    QueuedWrites,
    SnapshotWriter,
    encode,
    parse_record,
)
from free_generation_image.locks import LockBox
from free_generation_image.projects import SavedProject
from free_generation_image.stores import SharedStores

BUSY_SECONDS = 10.0  # how long a writer waits for another's transaction before giving up

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    user TEXT NOT NULL, id TEXT NOT NULL, api_url TEXT NOT NULL, created_at REAL NOT NULL,
    status TEXT NOT NULL, updated_at REAL NOT NULL, version INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (user, id)
);
CREATE INDEX IF NOT EXISTS jobs_by_user ON jobs (user, api_url, created_at);
CREATE TABLE IF NOT EXISTS changes (user TEXT PRIMARY KEY, counter INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS projects (user TEXT NOT NULL, api_url TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (user, api_url));
"""


class StateUnavailable(FGIError):
    """The embedded state database was busy past its timeout, or unreadable."""


class SqliteHub:
    """One database file for the whole server; ``for_user`` hands out each user's share of it."""

    def __init__(self, path: Path, lock_root: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self._lock_root = lock_root
        self._conn = sqlite3.connect(
            path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._guard = threading.RLock()  # one connection, used by worker threads one at a time
        with contextlib.suppress(OSError):
            path.chmod(0o600)

    @contextlib.contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        with self._guard:
            try:
                # IMMEDIATE takes the write lock up front: check-then-insert stays atomic across processes.
                self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as err:
                raise StateUnavailable(
                    f"The server's state database could not be used ({type(err).__name__}).",
                    hint="Nothing new was sent. Try again in a moment. (Operators: check FGI_STATE_DIR.)",
                ) from err

    def for_user(self, folder: str, api_url: str) -> SharedStores:
        """A user's jobs, project pointer and locks; ``folder`` is their keyed hash (never the token)."""
        return SharedStores(
            jobs=SqliteJobStore(self, folder, api_url),
            projects=SqliteProjects(self, folder, api_url),
            locks=LockBox(self._lock_root / folder),
        )

    def ping(self) -> bool:
        try:
            with self.transaction() as db:
                db.execute("SELECT 1").fetchone()
        except StateUnavailable:
            return False
        return True

    def close(self) -> None:
        with self._guard:
            self._conn.close()


class SqliteJobStore(QueuedWrites, OneMachine):
    """One user's job log in the database; cached until the user's change counter moves."""

    def __init__(self, hub: SqliteHub, user: str, api_url: str) -> None:
        self._hub = hub
        self._user = user
        self._api_url = api_url
        self._lock = threading.Lock()
        self._seen: int | None = None
        self._by_id: dict[str, JobRecord] = {}
        self._writer = SnapshotWriter(self._write)

    # ---------------------------------------------------------------- reading
    def _counter(self, db: sqlite3.Connection) -> int:
        row = db.execute("SELECT counter FROM changes WHERE user = ?", (self._user,)).fetchone()
        return int(row[0]) if row else 0

    def refresh(self) -> dict[str, JobRecord]:
        """Every record of this user (any API URL), by id; one small query when nothing changed."""
        with self._lock, self._hub.transaction() as db:
            counter = self._counter(db)
            if counter != self._seen:
                rows = db.execute("SELECT data FROM jobs WHERE user = ?", (self._user,)).fetchall()
                records = [r for r in (parse_record(row[0]) for row in rows) if r is not None]
                self._by_id = {r.id: r for r in records}
                self._seen = counter
            return dict(self._by_id)

    def recent(self) -> list[JobRecord]:
        records = [r for r in self.refresh().values() if r.api_url == self._api_url]
        return sorted(records, key=lambda r: r.created_at, reverse=True)

    def running(self) -> list[JobRecord]:
        return [r for r in self.recent() if r.status == "running"]

    def load(self, job_id: str) -> JobRecord | None:
        with self._hub.transaction() as db:
            row = db.execute(
                "SELECT data FROM jobs WHERE user = ? AND id = ?", (self._user, job_id)
            ).fetchone()
        return parse_record(row[0]) if row else None

    def stamp(self, job_id: str) -> int | None:
        with self._hub.transaction() as db:
            row = db.execute(
                "SELECT version FROM jobs WHERE user = ? AND id = ?", (self._user, job_id)
            ).fetchone()
        return int(row[0]) if row else None

    # ---------------------------------------------------------------- writing
    def _upsert(self, db: sqlite3.Connection, record: JobRecord, data: bytes) -> None:
        db.execute(
            "INSERT INTO jobs (user, id, api_url, created_at, status, updated_at, version, data) "
            "VALUES (?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT (user, id) DO UPDATE SET status = excluded.status, "
            "updated_at = excluded.updated_at, version = jobs.version + 1, data = excluded.data",
            (
                self._user,
                record.id,
                record.api_url,
                record.created_at,
                record.status,
                record.updated_at,
                data,
            ),
        )
        db.execute(
            "INSERT INTO changes (user, counter) VALUES (?, 1) "
            "ON CONFLICT (user) DO UPDATE SET counter = changes.counter + 1",
            (self._user,),
        )

    def _write(self, job_id: str, data: bytes) -> None:
        record = parse_record(data)
        if record is not None:
            with self._hub.transaction(write=True) as db:
                self._upsert(db, record, data)

    def save_now(self, record: JobRecord) -> None:
        self._writer.drop(record.id)
        with self._hub.transaction(write=True) as db:
            self._upsert(db, record, encode(record))

    def create_or_join(
        self, make: Callable[[], JobRecord], find: Callable[[list[JobRecord]], JobRecord | None]
    ) -> tuple[JobRecord, bool]:
        """Atomically (one write transaction): the record ``find`` picks among recent ones, else a new one."""
        with self._hub.transaction(write=True) as db:
            rows = db.execute(
                "SELECT data FROM jobs WHERE user = ? AND api_url = ? ORDER BY created_at DESC",
                (self._user, self._api_url),
            ).fetchall()
            records = [r for r in (parse_record(row[0]) for row in rows) if r is not None]
            existing = find(records)
            if existing is not None:
                return existing, True
            record = make()
            self._upsert(db, record, encode(record))
            return record, False

    def prune(self) -> int:
        """Delete this user's finished jobs older than a week. Returns how many."""
        cutoff = time.time() - KEEP_SECONDS
        with self._hub.transaction(write=True) as db:
            gone = db.execute(
                "DELETE FROM jobs WHERE user = ? AND status != 'running' AND updated_at < ?",
                (self._user, cutoff),
            ).rowcount
        return int(gone)


class SqliteProjects:
    """One user's current project per API URL."""

    def __init__(self, hub: SqliteHub, user: str, api_url: str) -> None:
        self._hub = hub
        self._key = (user, api_url)

    def load(self) -> SavedProject | None:
        with self._hub.transaction() as db:
            row = db.execute("SELECT data FROM projects WHERE user = ? AND api_url = ?", self._key).fetchone()
        return SavedProject.parse(row[0]) if row else None

    def save(self, project: SavedProject) -> None:
        with self._hub.transaction(write=True) as db:
            db.execute(
                "INSERT INTO projects (user, api_url, data) VALUES (?, ?, ?) "
                "ON CONFLICT (user, api_url) DO UPDATE SET data = excluded.data",
                (*self._key, json.dumps(asdict(project))),
            )

    def clear(self) -> None:
        with self._hub.transaction(write=True) as db:
            db.execute("DELETE FROM projects WHERE user = ? AND api_url = ?", self._key)


__all__ = ["SqliteHub", "SqliteJobStore", "SqliteProjects", "StateUnavailable"]
