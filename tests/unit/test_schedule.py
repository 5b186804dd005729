"""The retry rules (app.delivery.schedule): jittered delays, Retry-After as a floor with a
cap, the schedule's end, and what a success or a failed extra attempt does to a delivery."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from app.config import DEFAULT_RETRY_SCHEDULE_S
from app.delivery.schedule import (
    DeliveryStatus,
    NextState,
    RetryPolicy,
    after_attempt,
    retry_delay_s,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
DRAWS = 2000
POLICY = RetryPolicy(DEFAULT_RETRY_SCHEDULE_S, jitter=0.2, max_retry_after_s=3600.0)
# Without jitter, so that a delay can be compared exactly.
EXACT = RetryPolicy(DEFAULT_RETRY_SCHEDULE_S, jitter=0.0, max_retry_after_s=3600.0)
ENDED: list[DeliveryStatus] = ["succeeded", "exhausted"]
EXTRA_TRIGGERS = ["manual", "replay"]


def next_state(
    *,
    previous: str,
    trigger: str = "scheduled",
    succeeded: bool = False,
    attempts_made: int = 1,
    retry_after_s: float | None = None,
) -> NextState:
    """``after_attempt`` at ``NOW`` under ``EXACT`` (seeded, though nothing is drawn)."""
    return after_attempt(
        previous=previous,
        trigger=trigger,
        succeeded=succeeded,
        attempts_made=attempts_made,
        retry_after_s=retry_after_s,
        policy=EXACT,
        now=NOW,
        rng=random.Random(0),
    )


@pytest.mark.parametrize("attempts_made", range(1, len(DEFAULT_RETRY_SCHEDULE_S)))
def test_jitter_keeps_each_delay_within_its_bounds_and_spreads_it(attempts_made: int) -> None:
    # Given the default schedule with ±20 % jitter and a seeded generator
    rng = random.Random(attempts_made)
    scheduled_s = DEFAULT_RETRY_SCHEDULE_S[attempts_made]
    low, high = scheduled_s * 0.8, scheduled_s * 1.2

    # When the delay after the same failure is drawn many times
    delays = [retry_delay_s(POLICY, attempts_made, None, rng) for _ in range(DRAWS)]

    # Then every delay is within ±20 % of the schedule
    assert all(delay is not None and low <= delay <= high for delay in delays)
    # And they spread over the range: both tenths at its ends are reached, and no value
    # repeats (each receiver retry lands at its own moment)
    drawn = [delay for delay in delays if delay is not None]
    assert min(drawn) < low + (high - low) / 10
    assert max(drawn) > high - (high - low) / 10
    assert len(set(drawn)) == DRAWS


def test_a_zero_delay_stays_zero_under_jitter() -> None:
    # Given the schedule's first delay, 0 s
    assert DEFAULT_RETRY_SCHEDULE_S[0] == 0

    # When it is drawn with jitter
    delays = {retry_delay_s(POLICY, 0, None, random.Random(seed)) for seed in range(100)}

    # Then it stays 0: jitter scales a delay, it never makes one up
    assert delays == {0.0}


@pytest.mark.parametrize(
    ("retry_after_s", "expected_s"),
    [
        (None, 300.0),  # no header: the schedule
        (0.0, 300.0),  # a shorter wait asked for: the schedule still
        (60.0, 300.0),
        (300.0, 300.0),
        (301.0, 301.0),  # a longer one: honoured
        (1800.0, 1800.0),
    ],
)
def test_retry_after_lengthens_a_delay_but_never_shortens_it(
    retry_after_s: float | None, expected_s: float
) -> None:
    # Given a delivery failed twice, whose next scheduled delay is 300 s
    assert DEFAULT_RETRY_SCHEDULE_S[2] == 300

    # When the receiver answered with Retry-After
    delay = retry_delay_s(EXACT, 2, retry_after_s, random.Random(0))

    # Then the delay is the longer of the two
    assert delay == expected_s


def test_retry_after_never_shortens_a_jittered_delay() -> None:
    # Given jittered delays around 300 s, and a receiver asking for 1 s
    rng = random.Random(7)

    # When many are drawn
    delays = [retry_delay_s(POLICY, 2, 1.0, rng) for _ in range(DRAWS)]

    # Then each is still within the schedule's jitter, never the receiver's 1 s
    assert all(delay is not None and 240.0 <= delay <= 360.0 for delay in delays)


@pytest.mark.parametrize(
    ("attempts_made", "retry_after_s", "expected_s"),
    [
        (2, 3601.0, 3600.0),  # a 300 s delay, lengthened only up to the cap
        (2, 10**9, 3600.0),
        (5, 10**9, 18000.0),  # a 5 h delay: the capped header cannot shorten it either
    ],
)
def test_retry_after_is_capped_at_max_retry_after(
    attempts_made: int, retry_after_s: float, expected_s: float
) -> None:
    # Given a cap of 3 600 s on Retry-After
    assert EXACT.max_retry_after_s == 3600.0

    # When a receiver asks for longer
    delay = retry_delay_s(EXACT, attempts_made, retry_after_s, random.Random(0))

    # Then it waits the cap, or the schedule when that is longer still
    assert delay == expected_s


@pytest.mark.parametrize("retry_after_s", [None, 10.0])
def test_the_schedules_end_exhausts_a_delivery(retry_after_s: float | None) -> None:
    # Given a delivery whose every scheduled attempt has now failed
    attempts_made = len(DEFAULT_RETRY_SCHEDULE_S)

    # When its last attempt is recorded (whatever the receiver asked)
    state = next_state(previous="failed", attempts_made=attempts_made, retry_after_s=retry_after_s)

    # Then it is exhausted, with no next attempt
    assert state == NextState("exhausted", None)
    assert retry_delay_s(EXACT, attempts_made, retry_after_s, random.Random(0)) is None


def test_the_last_scheduled_delay_still_leads_to_an_attempt() -> None:
    # Given a delivery with one scheduled attempt left
    attempts_made = len(DEFAULT_RETRY_SCHEDULE_S) - 1

    # When its last-but-one attempt fails
    state = next_state(previous="failed", attempts_made=attempts_made)

    # Then the last attempt is scheduled after the last delay
    last_s = DEFAULT_RETRY_SCHEDULE_S[-1]
    assert state == NextState("failed", NOW + timedelta(seconds=last_s))


@pytest.mark.parametrize("trigger", ["scheduled", *EXTRA_TRIGGERS])
@pytest.mark.parametrize("previous", ["pending", "failed", *ENDED])
@pytest.mark.parametrize("attempts_made", [1, len(DEFAULT_RETRY_SCHEDULE_S) + 3])
def test_a_success_ends_a_delivery_whatever_its_state(
    previous: str, trigger: str, attempts_made: int
) -> None:
    # Given a delivery in any state, attempted for any reason, early or past its schedule
    # When the attempt succeeds
    state = next_state(
        previous=previous, trigger=trigger, succeeded=True, attempts_made=attempts_made
    )

    # Then it has succeeded, with no next attempt
    assert state == NextState("succeeded", None)


@pytest.mark.parametrize("trigger", EXTRA_TRIGGERS)
@pytest.mark.parametrize("previous", ENDED)
@pytest.mark.parametrize("attempts_made", [2, len(DEFAULT_RETRY_SCHEDULE_S) + 1])
def test_a_failed_extra_attempt_of_an_ended_delivery_leaves_it_ended(
    previous: DeliveryStatus, trigger: str, attempts_made: int
) -> None:
    # Given a delivery that has ended (succeeded or exhausted)
    # When a manual resend or a replay of it fails, even with a Retry-After
    state = next_state(
        previous=previous, trigger=trigger, attempts_made=attempts_made, retry_after_s=60.0
    )

    # Then it stays as it ended, with no next attempt: one extra try, not a new schedule
    assert state == NextState(previous, None)


@pytest.mark.parametrize("trigger", EXTRA_TRIGGERS)
def test_a_failed_extra_attempt_of_a_failing_delivery_continues_its_schedule(
    trigger: str,
) -> None:
    # Given a delivery that failed twice and waits for its third attempt
    # When a manual resend (or a replay) of it fails: its third attempt
    state = next_state(previous="failed", trigger=trigger, attempts_made=3)

    # Then its schedule goes on from there, as after a scheduled third attempt
    assert state == NextState("failed", NOW + timedelta(seconds=DEFAULT_RETRY_SCHEDULE_S[3]))
    assert state == next_state(previous="failed", trigger="scheduled", attempts_made=3)


def test_a_failed_extra_attempt_at_the_schedules_end_exhausts_a_failing_delivery() -> None:
    # Given a failing delivery whose schedule has no attempt left
    attempts_made = len(DEFAULT_RETRY_SCHEDULE_S)

    # When a manual resend of it fails
    state = next_state(previous="failed", trigger="manual", attempts_made=attempts_made)

    # Then it is exhausted like after any last attempt
    assert state == NextState("exhausted", None)
