"""One Redis connection pool per replica, its lease keeper, and each user's share of the keyspace.

Every call is bounded (socket timeouts of a couple of seconds, one retry): when Redis is down a call
fails fast with ``StoreUnavailable`` instead of hanging past the caller's ``wait_seconds``.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import asdict
from typing import NoReturn

from free_generation_image.errors import FGIError
from free_generation_image.projects import SavedProject
from free_generation_image.stores import SharedStores

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as err:  # pragma: no cover - the extra is missing
    raise ImportError(
        "FGI_REDIS_URL needs the 'redis' package: pip install 'free-generation-image[redis]'"
    ) from err

log = logging.getLogger(__name__)

SOCKET_SECONDS = 2.0
LEASE_SECONDS = 10.0
UNAVAILABLE_HINT = (
    "Nothing new was sent. Try again in a minute; jobs already running go on once it is back. "
    "(Operators: check that Redis at FGI_REDIS_URL is up.)"
)


class StoreUnavailable(FGIError):
    """The shared store (Redis) did not answer."""


def unavailable(err: Exception) -> NoReturn:
    raise StoreUnavailable(
        f"The server's shared store is not reachable right now ({type(err).__name__}).",
        hint=UNAVAILABLE_HINT,
    ) from err


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Redis errors as ``StoreUnavailable`` (one plain sentence and what to do)."""
    try:
        yield
    except redis.RedisError as err:
        unavailable(err)


def connect(url: str, *, socket_seconds: float = SOCKET_SECONDS) -> redis.Redis:
    """A client that fails within ``socket_seconds`` (plus one quick retry) when Redis is gone."""
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_seconds,
        socket_connect_timeout=socket_seconds,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=15,
        decode_responses=False,
    )


class RedisProjects:
    """The current project of one user for one API URL, as a JSON string."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self._client = client
        self._key = key

    def load(self) -> SavedProject | None:
        with guarded():
            raw = self._client.get(self._key)
        return SavedProject.parse(raw) if isinstance(raw, bytes) else None

    def save(self, project: SavedProject) -> None:
        with guarded():
            self._client.set(self._key, json.dumps(asdict(project)))

    def clear(self) -> None:
        with guarded():
            self._client.delete(self._key)


class RedisHub:
    """What one replica shares through Redis; ``for_user`` gives a user's stores under their prefix."""

    def __init__(self, url: str, *, lease_seconds: float = LEASE_SECONDS, namespace: str = "fgi") -> None:
        from free_generation_image.redisstore.leases import Leases

        self.client = connect(url)
        self.lease_seconds = lease_seconds
        self.namespace = namespace
        self.leases = Leases(self.client, ttl=lease_seconds)

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def for_user(self, folder: str, api_url: str) -> SharedStores:
        """A user's jobs, project pointer and locks; ``folder`` is their keyed hash (never the token)."""
        from free_generation_image.redisstore.jobs import RedisJobStore
        from free_generation_image.redisstore.locks import RedisLocks

        prefix = f"{self.namespace}:u:{folder}:"
        return SharedStores(
            jobs=RedisJobStore(self.client, self.leases, prefix, api_url),
            projects=RedisProjects(self.client, f"{prefix}project:{api_url}"),
            locks=RedisLocks(self.client, self.leases, prefix + "lock:"),
        )

    def close(self) -> None:
        self.leases.stop()
        with contextlib.suppress(redis.RedisError):
            self.client.close()


__all__ = ["RedisHub", "RedisProjects", "StoreUnavailable", "connect", "guarded", "unavailable"]
