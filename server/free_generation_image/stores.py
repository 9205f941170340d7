"""The seam between the service and what replicas share: jobs, the project pointer, locks.

Embedded: files under the config dir (stdio), or one SQLite file for every user of a remote server
(``sqlitestore.py``); OS file locks and a pid check for liveness — one machine. Shared (``FGI_REDIS_URL``,
remote mode): the same interfaces on Redis, with leases for liveness, so any replica can answer for any
job and adopt one whose owner died.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from free_generation_image.joblog import JobRecord
from free_generation_image.locks import Locks
from free_generation_image.projects import ProjectPointer


class JobStore(Protocol):
    """What the job registry needs from the job log. Blocking methods: call them from worker threads,
    except ``save`` (queues a snapshot and returns at once) and ``owner_alive`` (cheap enough)."""

    def recent(self) -> list[JobRecord]: ...
    def running(self) -> list[JobRecord]: ...
    def refresh(self) -> dict[str, JobRecord]: ...
    def load(self, job_id: str) -> JobRecord | None: ...
    def stamp(self, job_id: str) -> int | None: ...
    def save(self, record: JobRecord) -> None: ...
    def save_now(self, record: JobRecord) -> None: ...
    def create_or_join(
        self, make: Callable[[], JobRecord], find: Callable[[list[JobRecord]], JobRecord | None]
    ) -> tuple[JobRecord, bool]: ...
    def owner_alive(self, record: JobRecord) -> bool: ...
    def claim(self, record: JobRecord, owner: str) -> bool: ...
    def release(self, owner: str) -> None: ...
    def on_lost(self, hook: Callable[[str], None]) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...
    def prune(self) -> int: ...


@dataclass(frozen=True)
class SharedStores:
    """One user's share of a store several replicas use (None of these = the embedded files)."""

    jobs: JobStore
    projects: ProjectPointer
    locks: Locks


class StoreHub(Protocol):
    """Where a server keeps every user's share: SQLite (one machine) or Redis (replicas)."""

    def for_user(self, folder: str, api_url: str) -> SharedStores: ...
    def ping(self) -> bool: ...
    def close(self) -> None: ...


__all__ = ["JobStore", "SharedStores", "StoreHub"]
