"""Locks that hold within the process and across processes sharing a config dir.

Built on ``filelock`` (OS locks: a process that dies releases its locks, so there is no stale lock to
guess about). The file part is taken in a worker thread, never on the event loop.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol

import anyio
import anyio.to_thread
import filelock

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1


class SharedLock:
    """An async mutex over one lock file: FIFO among this process's tasks, exclusive among processes."""

    def __init__(self, path: Path, *, poll: float = POLL_SECONDS) -> None:
        self.path = path
        self._local = anyio.Lock()
        # thread_local=False: acquired in one worker thread, released from another.
        self._file = filelock.FileLock(str(path), thread_local=False, mode=0o600)
        self._poll = poll

    def _try(self) -> bool:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._file.acquire(timeout=0)
        except filelock.Timeout:
            return False
        return True

    def _release(self) -> None:
        if self._file.is_locked:
            self._file.release(force=True)

    @contextlib.asynccontextmanager
    async def hold(self, *, timeout: float | None = None, best_effort: bool = False) -> AsyncIterator[bool]:
        """Hold the lock; yields whether the file part is held.

        ``timeout`` raises TimeoutError, unless ``best_effort``: then (or when the lock file cannot be
        created at all) the caller goes on holding only the in-process part, and a warning is logged.
        """
        async with self._local:
            try:
                with anyio.fail_after(timeout):
                    # Another process holds it: an OS lock has no cross-process event to wait on.
                    while not await anyio.to_thread.run_sync(self._try):  # noqa: ASYNC110
                        await anyio.sleep(self._poll)
            except TimeoutError:
                if not best_effort:
                    await anyio.to_thread.run_sync(self._release)
                    raise
                log.warning("could not take %s within %.0f s; going on without it", self.path, timeout or 0)
            except OSError as err:  # e.g. a read-only config dir: the file lock is best effort
                log.warning("cannot lock %s: %s", self.path, err)
            except BaseException:
                # Cancelled while a worker thread took the lock (its answer lost): give it back.
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self._release)
                raise
            # Only this task deals with the file lock in this process (the local lock), so locked = ours.
            held = self._file.is_locked
            try:
                yield held
            finally:
                if held:
                    with anyio.CancelScope(shield=True):
                        await anyio.to_thread.run_sync(self._release)


class Lock(Protocol):
    """An async mutex shared beyond this process (``SharedLock``; a Redis lock across replicas)."""

    def hold(
        self, *, timeout: float | None = None, best_effort: bool = False
    ) -> AbstractAsyncContextManager[bool]: ...


class Locks(Protocol):
    """Named locks, created on first use."""

    def get(self, name: str) -> Lock: ...


class LockBox:
    """One ``SharedLock`` per name (a project, a purpose), created on first use."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._locks: dict[str, SharedLock] = {}

    def get(self, name: str) -> SharedLock:
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = SharedLock(self._directory / f".{name}.lock")
        return lock


__all__ = ["Lock", "LockBox", "Locks", "SharedLock"]
