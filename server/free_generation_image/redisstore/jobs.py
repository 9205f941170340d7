"""The job log on Redis: one hash per job (JSON + version), an index by creation time, leases for owners.

Keys under a user's prefix: ``job:<id>`` {data, v}, ``jobs`` (sorted set by created_at), ``ver`` (bumped
on every write, so an unchanged log costs one GET), ``lease:<id>`` (the owner's token, short expiry,
renewed while the job runs here), ``create`` (the short lock that makes create-or-join atomic).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable

import redis

from free_generation_image.joblog import (
    CREATE_LOCK_SECONDS,
    KEEP_SECONDS,
    JobRecord,
    QueuedWrites,
    SnapshotWriter,
    encode,
    parse_record,
)
from free_generation_image.redisstore.hub import guarded, unavailable
from free_generation_image.redisstore.leases import Leases

log = logging.getLogger(__name__)

MAX_LISTED = 500  # the newest jobs a replica looks at (dedupe windows are minutes, status shows 10)
ALIVE_FRESH = 1.0  # a lease check this recent is reused (status lists call it per job)
RETRY_SECONDS = 1.0


class RedisJobStore(QueuedWrites):
    """What ``JobRegistry`` needs from a job log, shared by every replica (see ``stores.JobStore``)."""

    def __init__(self, client: redis.Redis, leases: Leases, prefix: str, api_url: str) -> None:
        self._r = client
        self._leases = leases
        self._p = prefix
        self._api_url = api_url
        self._lock = threading.Lock()
        self._ver: bytes | None = None
        self._all: dict[str, JobRecord] = {}
        self._mine: list[JobRecord] = []
        self._alive: dict[str, tuple[bool, float]] = {}
        self._owned: dict[str, str] = {}  # job id -> our owner token, while we hold its lease
        self._lost: set[str] = set()
        self._seq: dict[str, int] = {}
        self._hooks: list[Callable[[str], None]] = []
        self._writer = SnapshotWriter(self._sink)

    def _job(self, job_id: str) -> str:
        return f"{self._p}job:{job_id}"

    def _lease(self, job_id: str) -> str:
        return f"{self._p}lease:{job_id}"

    # ---------------------------------------------------------------- reading
    def _update(self) -> None:
        with guarded():
            ver = self._r.get(self._p + "ver")
            if ver == self._ver and ver is not None:
                return
            ids = _names(self._r.zrevrange(self._p + "jobs", 0, MAX_LISTED - 1))
            pipe = self._r.pipeline(transaction=False)
            for job_id in ids:
                pipe.hget(self._job(job_id), "data")
            raws = pipe.execute() if ids else []
        records: dict[str, JobRecord] = {}
        for raw in raws:
            record = parse_record(raw) if isinstance(raw, bytes) else None
            if record is not None:
                records[record.id] = record
        self._ver = ver if isinstance(ver, bytes) else None
        self._all = records
        mine = [r for r in records.values() if r.api_url == self._api_url]
        self._mine = sorted(mine, key=lambda r: r.created_at, reverse=True)

    def refresh(self) -> dict[str, JobRecord]:
        with self._lock:
            self._update()
            return dict(self._all)

    def recent(self) -> list[JobRecord]:
        """This API URL's jobs, newest first; the leases of running ones checked in the same go, so the
        ``owner_alive`` calls that follow (status lists) need no round trip each."""
        with self._lock:
            self._update()
            mine = list(self._mine)
        now = time.monotonic()
        stale = [
            r.id
            for r in mine
            if r.status == "running" and now - self._alive.get(r.id, (False, 0.0))[1] > ALIVE_FRESH
        ]
        self._check_leases(stale)
        return mine

    def running(self) -> list[JobRecord]:
        with self._lock:
            self._update()
            running = [r for r in self._mine if r.status == "running"]
        self._check_leases([r.id for r in running])
        return running

    def load(self, job_id: str) -> JobRecord | None:
        with guarded():
            raw = self._r.hget(self._job(job_id), "data")
        return parse_record(raw) if isinstance(raw, bytes) else None

    def stamp(self, job_id: str) -> int | None:
        with guarded():
            raw = self._r.hget(self._job(job_id), "v")
        return int(raw) if isinstance(raw, bytes) else None

    # ---------------------------------------------------------------- liveness
    def _check_leases(self, ids: list[str]) -> None:
        if not ids:
            return
        with guarded():
            pipe = self._r.pipeline(transaction=False)
            for job_id in ids:
                pipe.exists(self._lease(job_id))
            answers = pipe.execute()
        now = time.monotonic()
        for job_id, answer in zip(ids, answers, strict=True):
            self._alive[job_id] = (bool(answer), now)

    def owner_alive(self, record: JobRecord) -> bool:
        """Whether somebody holds the job's lease (an owner renews it every couple of seconds)."""
        if self._leases.holds(self._lease(record.id)):
            return True
        known = self._alive.get(record.id)
        if known is None or time.monotonic() - known[1] > ALIVE_FRESH:
            self._check_leases([record.id])
            known = self._alive[record.id]
        return known[0]

    def claim(self, record: JobRecord, owner: str) -> bool:
        """Take the lease of an orphan; exactly one replica wins it."""
        with guarded():
            won = self._leases.try_take(self._lease(record.id), owner, self._on_lost(record.id))
        if won:
            self._owned[record.id] = owner
            self._alive[record.id] = (True, time.monotonic())
        return won

    def _on_lost(self, job_id: str) -> Callable[[], None]:
        def lost() -> None:
            # Another replica adopted the job while Redis was away: its record is theirs from now on.
            self._lost.add(job_id)
            self._owned.pop(job_id, None)
            for hook in self._hooks:
                hook(job_id)

        return lost

    def on_lost(self, hook: Callable[[str], None]) -> None:
        """Call ``hook(job_id)`` (from the lease thread) when a job's lease went to another replica."""
        self._hooks.append(hook)

    def release(self, owner: str) -> None:
        """Give back the leases of ``owner``'s unfinished jobs so another opening adopts them at once."""
        for job_id, token in list(self._owned.items()):
            if token == owner:
                self._owned.pop(job_id, None)
                self._leases.release(self._lease(job_id), token)

    # ---------------------------------------------------------------- writing
    def _write(self, record: JobRecord, data: bytes, *, lease_owner: str | None = None) -> None:
        pipe = self._r.pipeline(transaction=True)
        key = self._job(record.id)
        pipe.hset(key, "data", data)
        pipe.hincrby(key, "v", 1)
        pipe.zadd(self._p + "jobs", {record.id: record.created_at}, nx=True)
        if lease_owner is not None:
            pipe.set(self._lease(record.id), lease_owner, px=self._leases.ttl_ms)
        if record.done:
            pipe.expire(key, int(KEEP_SECONDS))
        pipe.incr(self._p + "ver")
        pipe.execute()

    def _sink(self, job_id: str, data: bytes) -> None:
        record = parse_record(data)
        if record is None or job_id in self._lost:
            return
        seq = self._seq.get(job_id, 0)
        try:
            self._write(record, data)
        except redis.RedisError as err:
            log.warning("cannot record job %s now (%s); retrying", job_id, type(err).__name__)
            timer = threading.Timer(RETRY_SECONDS, self._retry, (job_id, data, seq))
            timer.daemon = True
            timer.start()
            return
        if record.done:
            owner = self._owned.pop(job_id, None)
            if owner is not None:
                self._leases.release(self._lease(job_id), owner)

    def _retry(self, job_id: str, data: bytes, seq: int) -> None:
        if self._seq.get(job_id, 0) == seq:  # nothing newer was queued meanwhile
            self._writer.put(job_id, data)

    def save(self, record: JobRecord) -> None:
        if record.id in self._lost:
            return
        self._seq[record.id] = self._seq.get(record.id, 0) + 1
        self._writer.put(record.id, encode(record))

    def save_now(self, record: JobRecord) -> None:
        """Write at once; a new running job gets its owner's lease in the same transaction."""
        self._writer.drop(record.id)
        fresh = record.status == "running" and record.id not in self._owned
        with guarded():
            self._write(record, encode(record), lease_owner=record.owner if fresh else None)
        if fresh:
            self._hold(record)

    def _hold(self, record: JobRecord) -> None:
        self._owned[record.id] = record.owner
        self._leases.keep(self._lease(record.id), record.owner, self._on_lost(record.id))
        self._alive[record.id] = (True, time.monotonic())

    def create_or_join(
        self, make: Callable[[], JobRecord], find: Callable[[list[JobRecord]], JobRecord | None]
    ) -> tuple[JobRecord, bool]:
        """Atomically across replicas: the record ``find`` picks, else a new one with its lease."""
        key, token = self._p + "create", secrets.token_hex(8)
        deadline = time.monotonic() + CREATE_LOCK_SECONDS
        try:
            while not self._r.set(key, token, nx=True, px=int(CREATE_LOCK_SECONDS * 1000)):
                if time.monotonic() > deadline:
                    raise TimeoutError
                time.sleep(0.01)
        except redis.RedisError as err:
            unavailable(err)
        except TimeoutError:
            raise unavailable(TimeoutError("the job store stayed locked")) from None
        try:
            existing = find(self.recent())
            if existing is not None:
                return existing, True
            record = make()
            self.save_now(record)
            return record, False
        finally:
            self._leases.release(key, token)

    def prune(self) -> int:
        """Drop index entries of jobs that expired (finished ones expire a week after they ended)."""
        cutoff = time.time() - KEEP_SECONDS
        with guarded():
            old = _names(self._r.zrangebyscore(self._p + "jobs", "-inf", cutoff))
            if not old:
                return 0
            pipe = self._r.pipeline(transaction=False)
            for job_id in old:
                pipe.exists(self._job(job_id))
            gone = [job_id for job_id, there in zip(old, pipe.execute(), strict=True) if not there]
            if gone:
                self._r.zrem(self._p + "jobs", *gone)
        return len(gone)


def _names(members: object) -> list[str]:
    items = members if isinstance(members, list) else []
    return [m.decode() if isinstance(m, bytes) else str(m) for m in items]


__all__ = ["RedisJobStore"]
