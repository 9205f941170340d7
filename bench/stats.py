"""Pure maths of the benchmarks: robust summaries, and the seed skill's render polling replayed exactly."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Final

SEED_POLL_SECONDS: Final = 30.0  # the seed skill polled a render every 30 s after submitting it


def median(values: Sequence[float]) -> float:
    """The median; NaN for no values (a figure that could not be measured shows as such)."""
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, ``q`` in [0, 1]; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN when the denominator is zero or either side is NaN."""
    if denominator == 0 or math.isnan(numerator) or math.isnan(denominator):
        return math.nan
    return numerator / denominator


def seed_polls(render_seconds: float, period: float = SEED_POLL_SECONDS) -> int:
    """Polls the seed made for a render of ``render_seconds``: one every ``period`` s until it saw it done."""
    return max(1, math.ceil(render_seconds / period))


def seed_detection_latency(render_seconds: float, period: float = SEED_POLL_SECONDS) -> float:
    """Seconds a render finished ``render_seconds`` after submission waited for the seed's next poll."""
    return seed_polls(render_seconds, period) * period - render_seconds
