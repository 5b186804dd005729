"""Summaries of what the receiver saw: latency percentiles, the busiest second, a drain."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bench.watch import Arrival


def percentiles(values_ms: Iterable[float]) -> dict[str, float]:
    """p50/p95/p99/max of ``values_ms`` (nearest rank) and the sample count; ``{}`` when
    there are none."""
    values = sorted(values_ms)
    if not values:
        return {}

    def at(q: float) -> float:
        return round(values[min(len(values) - 1, int(q * len(values)))], 1)

    return {
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "max_ms": round(values[-1], 1),
        "samples": len(values),
    }


def latencies_sent_between(
    arrivals: Iterable[Arrival], start_s: float, end_s: float
) -> list[float]:
    """Publish→arrival milliseconds of the stamped arrivals sent within
    ``[start_s, end_s]`` (``time.time()`` seconds)."""
    return [
        (arrival.at_s - arrival.sent_at_s) * 1000.0
        for arrival in arrivals
        if arrival.sent_at_s is not None and start_s <= arrival.sent_at_s <= end_s
    ]


def busiest_window(times_s: Iterable[float], window_s: float = 1.0) -> int:
    """The most of ``times_s`` within any sliding window ``[t, t + window_s)``."""
    times = sorted(times_s)
    most, start = 0, 0
    # Two pointers: times[start..end] is the longest run ending at times[end] that spans
    # less than window_s.
    for end, at in enumerate(times):
        while at - times[start] >= window_s:
            start += 1
        most = max(most, end - start + 1)
    return most


def release_summary(times_s: list[float], released_at_s: float) -> dict[str, Any]:
    """How a backlog released at ``released_at_s`` arrived (``times_s`` sorted, non-empty):
    the first arrival's delay and the last's, and the rate from the release to the last
    arrival."""
    first_s, last_s = times_s[0] - released_at_s, times_s[-1] - released_at_s
    return {
        "first_delivery_after_resume_s": round(first_s, 3),
        "last_delivery_after_resume_s": round(last_s, 3),
        "drain_deliveries_per_s": round(len(times_s) / last_s, 1) if last_s > 0 else 0.0,
    }
