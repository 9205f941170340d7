"""Per-user request limits: a token bucket per identity (pure; the clock is injected)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

MAX_TRACKED = 50_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class Limiter(Protocol):
    """What the request path needs: a wait in seconds, 0 when the request may go."""

    async def acquire(self, key: str, cost: float = 1.0) -> float: ...


class RateLimiter:
    """``rate_per_minute`` sustained, ``burst`` at once; :meth:`take` says how long to wait when refused."""

    def __init__(
        self, rate_per_minute: float, burst: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate_per_minute / 60.0
        self.burst = burst
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    async def acquire(self, key: str, cost: float = 1.0) -> float:
        """``take`` for the request path (the Redis limiter, shared by replicas, is async)."""
        return self.take(key, cost)

    def take(self, key: str, cost: float = 1.0) -> float:
        """0 if allowed (and counted), else the seconds until it would be."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
            self._buckets[key] = bucket
            if len(self._buckets) > MAX_TRACKED:
                self._buckets.popitem(last=False)  # the oldest idle user starts over with a full bucket
        self._buckets.move_to_end(key)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        return (cost - bucket.tokens) / self.rate
