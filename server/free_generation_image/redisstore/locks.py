"""Named locks on Redis: ``SET NX PX`` with a random token, renewed while held, released only by the
holder (a token-checked delete). A replica that dies holding one frees it when the lease runs out."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator

import anyio
import anyio.to_thread
import redis

from free_generation_image.locks import POLL_SECONDS
from free_generation_image.redisstore.hub import unavailable
from free_generation_image.redisstore.leases import Leases

log = logging.getLogger(__name__)


class RedisLock:
    """An async mutex across replicas: FIFO among this replica's tasks, exclusive among replicas."""

    def __init__(self, client: redis.Redis, leases: Leases, key: str, *, poll: float = POLL_SECONDS) -> None:
        self._client = client
        self._leases = leases
        self.key = key
        self._local = anyio.Lock()
        self._poll = poll

    @contextlib.asynccontextmanager
    async def hold(self, *, timeout: float | None = None, best_effort: bool = False) -> AsyncIterator[bool]:
        """Like ``SharedLock.hold``: yields whether the shared part is held."""
        token = secrets.token_hex(8)
        async with self._local:
            held = False
            try:
                with anyio.fail_after(timeout):
                    # Another replica holds it: Redis has no event here worth a connection per waiter.
                    while not await anyio.to_thread.run_sync(self._leases.try_take, self.key, token):  # noqa: ASYNC110
                        await anyio.sleep(self._poll)
                held = True
            except TimeoutError:
                if not best_effort:
                    raise
                log.warning("could not take %s within %.0f s; going on without it", self.key, timeout or 0)
            except redis.RedisError as err:
                if not best_effort:
                    unavailable(err)
                log.warning("cannot lock %s: %s", self.key, type(err).__name__)
            except BaseException:
                # Cancelled while a worker thread may have taken it: give it back.
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self._leases.release, self.key, token)
                raise
            try:
                yield held
            finally:
                if held:
                    with anyio.CancelScope(shield=True):
                        await anyio.to_thread.run_sync(self._leases.release, self.key, token)


class RedisLocks:
    """One ``RedisLock`` per name under a user's prefix."""

    def __init__(self, client: redis.Redis, leases: Leases, prefix: str) -> None:
        self._client = client
        self._leases = leases
        self._prefix = prefix
        self._locks: dict[str, RedisLock] = {}

    def get(self, name: str) -> RedisLock:
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = RedisLock(self._client, self._leases, self._prefix + name)
        return lock


__all__ = ["RedisLock", "RedisLocks"]
