"""When the next attempt of a failed delivery happens (pure functions)."""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

DeliveryStatus = Literal["pending", "succeeded", "failed", "exhausted"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "exhausted"})


@dataclass(frozen=True)
class RetryPolicy:
    schedule_s: Sequence[int]  # delay before attempt 1, 2, … (the first is usually 0)
    jitter: float = 0.2  # ±20 %
    max_retry_after_s: float = 3600.0


@dataclass(frozen=True)
class NextState:
    status: DeliveryStatus
    next_attempt_at: datetime | None


def retry_delay_s(
    policy: RetryPolicy, attempts_made: int, retry_after_s: float | None, rng: random.Random
) -> float | None:
    """Seconds until the next attempt after ``attempts_made`` failures; None when used up.

    The scheduled delay gets ±jitter; a receiver's ``Retry-After`` (429/503) lengthens it,
    up to ``max_retry_after_s``, never shortens it.
    """
    if attempts_made >= len(policy.schedule_s):
        return None
    delay = policy.schedule_s[attempts_made] * (1 + rng.uniform(-policy.jitter, policy.jitter))
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, policy.max_retry_after_s))
    return max(delay, 0.0)


def after_attempt(
    *,
    previous: str,
    trigger: str,
    succeeded: bool,
    attempts_made: int,
    retry_after_s: float | None,
    policy: RetryPolicy,
    now: datetime,
    rng: random.Random,
) -> NextState:
    """Where a delivery stands after an attempt.

    A success ends it. A failed manual or replayed attempt of a delivery that had already
    ended leaves it ended (one extra try, not a new schedule); otherwise a failure is
    retried on the schedule until it is exhausted.
    """
    if succeeded:
        return NextState("succeeded", None)
    if trigger != "scheduled" and previous in TERMINAL:
        return NextState(previous, None)  # type: ignore[arg-type]
    delay = retry_delay_s(policy, attempts_made, retry_after_s, rng)
    if delay is None:
        return NextState("exhausted", None)
    return NextState("failed", now + timedelta(seconds=delay))
