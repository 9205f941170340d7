"""Leases: keys with a short expiry that their holder renews from one thread (jobs and locks alike).

A holder that dies stops renewing; the key expires and another replica may take over. A holder that
finds its key taken by somebody else (Redis was away longer than the lease) has lost it and is told.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)

# 1 renewed, 2 taken again after it expired with nobody else claiming it, 0 somebody else holds it.
_RENEW = """
local v = redis.call('get', KEYS[1])
if v == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 end
if not v then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

OnLost = Callable[[], None]


class Leases:
    """The keys this replica holds, renewed every ``ttl / 5`` seconds by a daemon thread."""

    def __init__(self, client: redis.Redis, *, ttl: float) -> None:
        self._client = client
        self.ttl_ms = max(1000, int(ttl * 1000))
        self.every = ttl / 5
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._held: dict[str, tuple[str, OnLost | None]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def try_take(self, key: str, token: str, on_lost: OnLost | None = None) -> bool:
        """Take ``key`` if nobody holds it (blocking); raises redis errors."""
        if not self._client.set(key, token, nx=True, px=self.ttl_ms):
            return False
        self.keep(key, token, on_lost)
        return True

    def keep(self, key: str, token: str, on_lost: OnLost | None = None) -> None:
        """Renew ``key`` (already set to ``token``) until ``release``."""
        with self._lock:
            self._held[key] = (token, on_lost)
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="fgi-leases", daemon=True)
                self._thread.start()

    def release(self, key: str, token: str) -> None:
        """Stop renewing and delete the key if it is still ours (blocking; errors only logged)."""
        with self._lock:
            held = self._held.get(key)
            if held is not None and held[0] == token:
                del self._held[key]
        try:
            self._release(keys=[key], args=[token])
        except redis.RedisError as err:  # it expires on its own
            log.info("could not release a lease now (%s); it expires by itself", type(err).__name__)

    def holds(self, key: str) -> bool:
        with self._lock:
            return key in self._held

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def renew_now(self) -> None:
        """One renewal round: every held key in one pipeline."""
        with self._lock:
            held = list(self._held.items())
        if not held:
            return
        pipe = self._client.pipeline(transaction=False)
        for key, (token, _) in held:
            self._renew(keys=[key], args=[token, self.ttl_ms], client=pipe)
        try:
            answers = pipe.execute()
        except redis.RedisError as err:
            if not self._failing:
                log.warning("cannot renew leases: %s (retrying)", type(err).__name__)
            self._failing = True
            return
        if self._failing:
            log.info("leases renewed again")
        self._failing = False
        for (key, (token, on_lost)), answer in zip(held, answers, strict=True):
            if answer == 0:
                with self._lock:
                    if self._held.get(key, ("",))[0] == token:
                        del self._held[key]
                log.warning("lost the lease %s to another replica", key.rsplit(":", 1)[-1])
                if on_lost is not None:
                    on_lost()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.renew_now()


__all__ = ["Leases"]
