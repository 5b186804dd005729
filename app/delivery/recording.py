"""Writing what a batch of attempts did: attempts, deliveries' next state, endpoint health."""

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, Update, bindparam, func, insert, literal, or_, select, update
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
    """Give back held-back deliveries, due again at the given times (no attempt counted)."""
    if not deferred:
        return
    ours = await _still_leased(session, {d: leases[d] for d in deferred})
    rows = [
        {"id": delivery_id, "next_attempt_at": until, "lease_token": None, "lease_until": None}
        for delivery_id, until in deferred.items()
        if delivery_id in ours
    ]
    if rows:
        await session.execute(update(Delivery), rows)


async def _still_leased(session: AsyncSession, leases: Mapping[str, str]) -> set[str]:
    """The deliveries still under their lease token (``leases``: id → token), locked until
    commit. One that lost it was asked for again while its attempt ran (a resend or a
    replay): that newer request keeps its time and lease."""
    stmt = select(Delivery.id, Delivery.lease_token).where(Delivery.id.in_(list(leases)))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    rows = await session.execute(stmt)
    return {delivery_id for delivery_id, token in rows if token == leases[delivery_id]}


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
    moved_on: list[dict[str, object]] = []  # still ours: scheduled on by this attempt
    counted: list[dict[str, object]] = []  # asked for again meanwhile: that request stands
    ours = await _still_leased(
        session, {item.delivery.id: leases[item.delivery.id] for item, _ in sent}
    )
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
        row: dict[str, object] = {
            "b_id": delivery.id,
            "b_status": state.status,
            "b_status_code": result.status_code,
            "b_now": now,
            "b_next_attempt_at": state.next_attempt_at,
        }
        (moved_on if delivery.id in ours else counted).append(row)
        bucket = {"succeeded": outcomes.succeeded, "exhausted": outcomes.exhausted}
        bucket.get(state.status, outcomes.failed).append(delivery.id)
        if state.status == "exhausted" and delivery.status != "exhausted":
            outcomes.events.append(attempt_event("message.attempt.exhausted", item, attempt_row))
        elif not result.ok and attempts_made == project.failing_after_attempts:
            outcomes.events.append(attempt_event("message.attempt.failing", item, attempt_row))
    await session.execute(insert(Attempt), attempt_rows)
    for stmt, rows in ((_MOVE_ON, moved_on), (_COUNT_ONLY, counted)):
        if rows:
            await session.execute(stmt, rows)
    await _update_endpoint_health(session, settings, sent, now, outcomes)
    return outcomes


def _record_delivery(moves_on: bool) -> Update:
    """The UPDATE (executemany, ``b_*`` parameters) of a delivery after an attempt."""
    deliveries = cast(Table, Delivery.__table__)
    values: dict[str, object] = {
        "status": bindparam("b_status"),
        # Counted in SQL: an overlapping attempt (a resend while this one ran) may have
        # been recorded since this delivery was claimed.
        "attempt_count": deliveries.c.attempt_count + 1,
        "last_status_code": bindparam("b_status_code"),
        "last_attempt_at": bindparam("b_now"),
        "updated_at": bindparam("b_now"),
    }
    if moves_on:
        values.update(
            next_attempt_at=bindparam("b_next_attempt_at"),
            next_trigger="scheduled",
            lease_token=None,
            lease_until=None,
        )
    return update(deliveries).where(deliveries.c.id == bindparam("b_id")).values(values)


_MOVE_ON = _record_delivery(moves_on=True)
_COUNT_ONLY = _record_delivery(moves_on=False)


def _attempt_row(
    item: "ClaimedDelivery", result: AttemptResult, now: datetime
) -> dict[str, object]:
    # Stamped when the attempt began, so the log orders attempts as they were made even
    # when a later one (a resend) is recorded first.
    started_at = result.started_at or now
    return {
        "id": new_id("atm", now_ms=int(started_at.timestamp() * 1000)),
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
    gone: set[str] = set()
    disable_after: dict[str, int] = {}
    by_endpoint = {item.endpoint.id: item for item, _ in sent}
    for item, result in sent:
        endpoint_id = item.endpoint.id
        disable_after[endpoint_id] = item.project.disable_after_s
        if result.ok:
            healthy.add(endpoint_id)
        else:
            failures[endpoint_id] += 1
        if result.status_code == 410:
            gone.add(endpoint_id)
    # Endpoint rows are shared by every concurrent batch. Lock them in one global order
    # (sorted ids, one statement each: an IN list locks in scan order, which varies) so
    # two batches never wait on each other in a cycle (a deadlock on PostgreSQL), and
    # leave an endpoint that is already healthy untouched: no row lock, so batches of
    # successes do not serialize on their endpoint's row.
    for endpoint_id in sorted(healthy | failures.keys()):
        if endpoint_id in healthy:
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
