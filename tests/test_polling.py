"""Render polling maths: fast detection of a finished render without hammering the backend."""

from __future__ import annotations

import pytest

from free_generation_image.polling import PollPolicy, estimate_remaining, next_delay


def simulate(total: float, policy: PollPolicy, *, progress: bool = True) -> tuple[float, float]:
    """Replay the schedule on a render that takes ``total`` s: (detection latency, polls per second)."""
    t, previous, samples, polls = 0.0, None, [], 0
    while True:
        previous = next_delay(policy, t, samples, previous)
        t += previous
        polls += 1
        if t >= total:
            return t - total, polls / t
        if progress:
            samples.append((t, 5 + 95 * t / total))


@pytest.mark.parametrize("total", [7, 37, 83, 200])
def test_linear_progress_is_detected_within_a_second_at_under_one_poll_per_second(total: float) -> None:
    latency, rate = simulate(total, PollPolicy())
    assert latency <= 1.0
    assert rate <= 1.0


@pytest.mark.parametrize("total", [7, 37, 83])
def test_without_progress_detection_stays_within_the_young_render_cap(total: float) -> None:
    latency, rate = simulate(total, PollPolicy(), progress=False)
    assert latency <= 3.0
    assert rate <= 1.0


def test_first_poll_is_quick_and_old_renders_back_off_to_the_max() -> None:
    policy = PollPolicy()
    assert next_delay(policy, 0, [], None) == policy.first_delay
    assert next_delay(policy, 1000, [], 20.0) == policy.max_delay
    assert next_delay(policy, 10, [], 0.1) == policy.min_delay


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        ([], None),
        ([(1.0, 10.0)], None),
        ([(1.0, 10.0), (2.0, 10.0)], None),  # stuck: no rate
        ([(1.0, 0.0), (2.0, 100.0)], None),  # endpoints carry no rate information
        ([(1.0, 10.0), (3.0, 30.0)], 7.0),
    ],
)
def test_estimate_remaining(samples: list[tuple[float, float]], expected: float | None) -> None:
    assert estimate_remaining(samples) == expected
