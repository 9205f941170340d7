"""When to poll a render next: pure maths, so it is table-tested and the benchmark can replay it.

The seed skill polled every 30 s, so a finished render waited ~15 s on average before anyone noticed.
We poll fast at first, then estimate the finish time from the progress the backend reports and aim
just past it; without usable progress we back off, capped by how long the render has been running.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PollPolicy:
    """Bounds for render polling; tests shrink ``give_up_after``."""

    first_delay: float = 1.0
    min_delay: float = 0.5
    backoff: float = 1.5
    max_delay: float = 30.0
    give_up_after: float = 600.0
    max_consecutive_errors: int = 6

    def cap(self, elapsed: float) -> float:
        """Longest allowed gap at this age: short while a render is young, up to ``max_delay`` later."""
        if elapsed < 90:
            return min(self.max_delay, 3.0)
        if elapsed < 300:
            return min(self.max_delay, 5.0)
        return self.max_delay


def next_delay(
    policy: PollPolicy, elapsed: float, samples: Sequence[tuple[float, float]], previous: float | None
) -> float:
    """Seconds to wait before the next poll.

    ``samples`` are ``(elapsed_s, progress_percent)`` readings so far, oldest first; ``previous`` is
    the last delay used (None before the first poll).
    """
    if previous is None:
        return policy.first_delay
    cap = policy.cap(elapsed)
    backoff = min(cap, max(policy.min_delay, previous * policy.backoff))
    eta = estimate_remaining(samples)
    if eta is None:
        return backoff
    # Aim a little past the predicted finish so one poll usually sees "completed".
    return max(policy.min_delay, min(cap, eta * 0.6 + 0.1))


def estimate_remaining(samples: Sequence[tuple[float, float]]) -> float | None:
    """Seconds until 100 %, from the progress rate over the readings; None when it cannot be told."""
    moving = [(t, p) for t, p in samples if 0 < p < 100]
    if len(moving) < 2:
        return None
    (t0, p0), (t1, p1) = moving[0], moving[-1]
    if t1 <= t0 or p1 <= p0:
        return None
    rate = (p1 - p0) / (t1 - t0)
    return max(0.0, (100.0 - p1) / rate)
