"""Writing what a batch of attempts did: attempts, deliveries' next state, endpoint health."""

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    Case,
    ColumnElement,
    Table,
    bindparam,
    case,
    func,
    insert,
    literal,
    null,
    or_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.base import UTCDateTime, utcnow
from app.db.models import Attempt, Delivery, Endpoint
from app.delivery.client import AttemptResult
from app.delivery.schedule import RetryPolicy, after_attempt
from app.ids import new_id
from app.operational.events import OperationalEvent, attempt_event, endpoint_event

if TYPE_CHECKING:
    from app.delivery.dispatch import ClaimedDelivery


@dataclass
class Outcomes:
    """What a batch did: delivery ids by new state, and the operational events it raised."""

    succeeded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    exhausted: list[str] = field(default_factory=list)
    events: list[OperationalEvent] = field(default_factory=list)


async def record_deferrals(
    session: AsyncSession, deferred: Mapping[str, datetime], leases: Mapping[str, str]
) -> None:
    """Give back held-back deliveries, due again at the given times (no attempt counted).

    Only those still under their job's lease: one asked for again meanwhile (a resend or
    a replay) keeps that newer request's time and lease.
    """
    rows = [
        {"b_id": delivery_id, "b_token": leases[delivery_id], "b_until": until}
        for delivery_id, until in deferred.items()
    ]
    if rows:
        await session.execute(_GIVE_BACK, rows)


async def record_attempts(
    session: AsyncSession,
    settings: Settings,
    sent: Sequence[tuple["ClaimedDelivery", AttemptResult]],
    rng: random.Random,
    leases: Mapping[str, str],
) -> Outcomes:
    """Write each attempt and move each delivery on; track endpoint health."""
    outcomes = Outcomes()
    if not sent:
        return outcomes
    now = utcnow()
    attempt_rows = []
    delivery_rows = []
    for item, result in sent:
        delivery, project = item.delivery, item.project
        attempts_made = delivery.attempt_count + 1
        policy = RetryPolicy(
            project.retry_schedule_s, settings.retry_jitter, settings.max_retry_after_s
        )
        state = after_attempt(
            previous=delivery.status,
            trigger=delivery.next_trigger,
            succeeded=result.ok,
            attempts_made=attempts_made,
            retry_after_s=result.retry_after_s,
            policy=policy,
            now=now,
            rng=rng,
        )
        attempt_row = _attempt_row(item, result, now)
        attempt_rows.append(attempt_row)
        delivery_rows.append(
            {
                "b_id": delivery.id,
                "b_token": leases[delivery.id],
                "b_status": state.status,
                "b_status_code": result.status_code,
                "b_now": now,
                "b_next_attempt_at": state.next_attempt_at,
            }
        )
        bucket = {"succeeded": outcomes.succeeded, "exhausted": outcomes.exhausted}
        bucket.get(state.status, outcomes.failed).append(delivery.id)
        if state.status == "exhausted" and delivery.status != "exhausted":
            outcomes.events.append(attempt_event("message.attempt.exhausted", item, attempt_row))
        elif not result.ok and attempts_made == project.failing_after_attempts:
            outcomes.events.append(attempt_event("message.attempt.failing", item, attempt_row))
    await session.execute(_INSERT_ATTEMPTS, attempt_rows)
    await session.execute(_RECORD_ATTEMPT, delivery_rows)
    await _update_endpoint_health(session, settings, sent, now, outcomes)
    return outcomes


_DELIVERIES = cast(Table, Delivery.__table__)
_INSERT_ATTEMPTS = insert(cast(Table, Attempt.__table__))


def _if_still_leased(then: object, otherwise: ColumnElement[Any]) -> Case[Any]:
    """``then`` if the delivery is still under the job's lease (``b_token``), else
    ``otherwise``. A delivery that lost it was asked for again while its attempt ran (a
    resend or a replay): that newer request keeps its time and lease."""
    return case((_DELIVERIES.c.lease_token == bindparam("b_token"), then), else_=otherwise)


# Executemany UPDATEs (``b_*`` parameters): one round trip per batch, and the lease check
# inside the statement, so no row is read (or locked) before it is written.
_RECORD_ATTEMPT = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        # Counted in SQL: an overlapping attempt (a resend while this one ran) may have
        # been recorded since this delivery was claimed.
        attempt_count=_DELIVERIES.c.attempt_count + 1,
        last_status_code=bindparam("b_status_code"),
        last_attempt_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
        next_attempt_at=_if_still_leased(
            bindparam("b_next_attempt_at", type_=UTCDateTime()), _DELIVERIES.c.next_attempt_at
        ),
        next_trigger=_if_still_leased(literal("scheduled"), _DELIVERIES.c.next_trigger),
        lease_token=_if_still_leased(null(), _DELIVERIES.c.lease_token),
        lease_until=_if_still_leased(null(), _DELIVERIES.c.lease_until),
    )
)
_GIVE_BACK = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("b_id"), _DELIVERIES.c.lease_token == bindparam("b_token"))
    .values(
        next_attempt_at=bindparam("b_until", type_=UTCDateTime()),
        lease_token=None,
        lease_until=None,
    )
)


# How far before its recording an attempt's id may be dated. /metrics counts attempts by
# id and takes those dated ``app.metrics.SETTLED_AFTER`` ago as all written, so an id
# must never be dated further back than that when its row appears.
MAX_ID_BACKDATING = timedelta(minutes=1)


def _attempt_row(
    item: "ClaimedDelivery", result: AttemptResult, now: datetime
) -> dict[str, object]:
    # The id is dated when the attempt began, so the log orders attempts as they were
    # made even when a later one (a resend) is recorded first; but no earlier than
    # MAX_ID_BACKDATING before now, which only an attempt frozen mid-way (a stopped
    # worker) reaches. ``created_at`` keeps the true start either way.
    started_at = result.started_at or now
    dated = max(started_at, now - MAX_ID_BACKDATING)
    return {
        "id": new_id("atm", now_ms=int(dated.timestamp() * 1000)),
        "project_id": item.delivery.project_id,
        "tenant_id": item.delivery.tenant_id,
        "delivery_id": item.delivery.id,
        "message_id": item.delivery.message_id,
        "endpoint_id": item.delivery.endpoint_id,
        "status": "succeeded" if result.ok else "failed",
        "response_status_code": result.status_code,
        "response_body": result.body,
        "duration_ms": result.duration_ms,
        "error_kind": result.error_kind,
        "error": result.error,
        "trigger": item.delivery.next_trigger,
        "created_at": started_at,
    }


async def _update_endpoint_health(
    session: AsyncSession,
    settings: Settings,
    sent: Sequence[tuple["ClaimedDelivery", AttemptResult]],
    now: datetime,
    outcomes: Outcomes,
) -> None:
    """Track runs of failures per endpoint: open its circuit after enough in a row,
    disable it on 410 Gone or once it has failed for the project's disable-after."""
    failures: dict[str, int] = defaultdict(int)
    healthy: set[str] = set()
    to_clear: set[str] = set()  # healthy now, failing when claimed
    gone: set[str] = set()
    disable_after: dict[str, int] = {}
    by_endpoint = {item.endpoint.id: item for item, _ in sent}
    for item, result in sent:
        endpoint_id = item.endpoint.id
        disable_after[endpoint_id] = item.project.disable_after_s
        if result.ok:
            healthy.add(endpoint_id)
            if _was_failing(item.endpoint):
                to_clear.add(endpoint_id)
        else:
            failures[endpoint_id] += 1
        if result.status_code == 410:
            gone.add(endpoint_id)
    # Endpoint rows are shared by every concurrent batch. Lock them in one global order
    # (sorted ids, one statement each: an IN list locks in scan order, which varies) so
    # two batches never wait on each other in a cycle (a deadlock on PostgreSQL), and
    # leave an endpoint that is already healthy untouched: no row lock, so batches of
    # successes do not serialize on their endpoint's row, and no statement at all when it
    # was healthy at claim time. (A failure recorded since by another worker then stands:
    # the two attempts overlapped, so neither came "after" the other.)
    for endpoint_id in sorted(to_clear | (failures.keys() - healthy)):
        if endpoint_id in to_clear:
            await session.execute(
                update(Endpoint)
                .where(
                    Endpoint.id == endpoint_id,
                    or_(
                        Endpoint.failing_since.is_not(None),
                        Endpoint.consecutive_failures != 0,
                        Endpoint.circuit_open_until.is_not(None),
                    ),
                )
                .values(failing_since=None, consecutive_failures=0, circuit_open_until=None)
            )
        else:
            count = failures[endpoint_id]
            await session.execute(
                update(Endpoint)
                .where(Endpoint.id == endpoint_id)
                .values(
                    consecutive_failures=Endpoint.consecutive_failures + count,
                    failing_since=func.coalesce(
                        Endpoint.failing_since, literal(now, UTCDateTime())
                    ),
                )
            )
            await session.execute(
                update(Endpoint)
                .where(
                    Endpoint.id == endpoint_id,
                    Endpoint.consecutive_failures >= settings.circuit_failure_threshold,
                )
                .values(circuit_open_until=now + timedelta(seconds=settings.circuit_cooldown_s))
            )
    for endpoint_id in gone:
        await _disable(
            session, by_endpoint[endpoint_id], "the endpoint answered 410 Gone", outcomes
        )
    for endpoint_id in failures.keys() - healthy - gone:
        days = disable_after[endpoint_id] / 86400
        await _disable(
            session,
            by_endpoint[endpoint_id],
            f"every attempt failed for {days:g} days",
            outcomes,
            failing_before=now - timedelta(seconds=disable_after[endpoint_id]),
        )


def _was_failing(endpoint: Endpoint) -> bool:
    """Whether the endpoint, as claimed, had a failure run or an open circuit to clear."""
    return bool(
        endpoint.failing_since or endpoint.consecutive_failures or endpoint.circuit_open_until
    )


async def _disable(
    session: AsyncSession,
    item: "ClaimedDelivery",
    reason: str,
    outcomes: Outcomes,
    failing_before: datetime | None = None,
) -> None:
    endpoint = item.endpoint
    stmt = update(Endpoint).where(Endpoint.id == endpoint.id, Endpoint.disabled.is_(False))
    if failing_before is not None:
        stmt = stmt.where(Endpoint.failing_since <= failing_before)
    disabled = await session.scalar(
        stmt.values(disabled=True, disabled_reason=reason).returning(Endpoint.id)
    )
    if disabled is not None:
        outcomes.events.append(endpoint_event("endpoint.disabled", item.tenant, endpoint, reason))
