"""Per-user request limits shared by every replica: one token bucket per identity, refilled and taken
in one Lua call on Redis's clock (replicas' clocks may differ)."""

from __future__ import annotations

import logging

import redis
import redis.asyncio

from free_generation_image.redisstore.hub import SOCKET_SECONDS

log = logging.getLogger(__name__)

# KEYS[1] bucket; ARGV rate/s, burst, cost. Returns the wait in milliseconds (0 = allowed and counted).
_TAKE = """
local t = redis.call('time')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('hmget', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= cost then tokens = tokens - cost else wait = math.ceil((cost - tokens) / rate * 1000) end
redis.call('hset', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('pexpire', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return wait
"""


class RedisRateLimiter:
    """``rate_per_minute`` sustained, ``burst`` at once, counted across replicas."""

    def __init__(self, url: str, rate_per_minute: float, burst: float, namespace: str = "fgi") -> None:
        self.rate = rate_per_minute / 60.0
        self.burst = burst
        self._r = redis.asyncio.Redis.from_url(
            url, socket_timeout=SOCKET_SECONDS, socket_connect_timeout=SOCKET_SECONDS
        )
        self._take = self._r.register_script(_TAKE)
        self._p = f"{namespace}:rate:"

    async def acquire(self, key: str, cost: float = 1.0) -> float:
        """0 if allowed (and counted), else the seconds until it would be. Redis away: allowed (the
        call itself then fails with a plain reason; a limiter must not be the thing that breaks)."""
        try:
            wait_ms = await self._take(keys=[self._p + key], args=[self.rate, self.burst, cost])
        except redis.RedisError as err:
            log.warning("rate limit not counted: %s", type(err).__name__)
            return 0.0
        return float(wait_ms) / 1000.0


__all__ = ["RedisRateLimiter"]
