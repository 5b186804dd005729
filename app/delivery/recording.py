"""Recording what attempts did: each attempt, each delivery's next state, its endpoint's
health and the operational events, in one transaction per batch of finished attempts.

The recorder locks, decides, then writes. Endpoint rows come first (``health``), then
the batch's delivery rows are locked in id order and read as they are now; every
decision (the attempt count, the next state, whether an event is due) is made on those
current values, so concurrent recordings of one delivery (a resend overlapping a
scheduled attempt) count every attempt and raise each event once. A delivery that is
gone (its endpoint or tenant was deleted mid-attempt) is skipped: nothing refers to a
missing row, and the batch goes on.

A delivery still under the lease its attempt was claimed with gets its next attempt
time (and gives the lease back); one whose lease changed meanwhile (a resend or a
replay asked for another attempt) keeps that newer request's time and lease. After the
commit, each endpoint with a retry coming gets its lane woken for it.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.base import UTCDateTime
from app.db.lists import any_of, one_of
from app.db.models import Attempt, Delivery
from app.db.session import enqueue_after_commit
from app.delivery.claim import Claimed
from app.delivery.client import AttemptResult
from app.delivery.health import update_endpoint_health
from app.delivery.schedule import RetryPolicy, after_attempt
from app.ids import new_id
from app.operational.events import OperationalEvent, announce, attempt_event
from app.outbox import LaneWork

# How far before its recording an attempt's id may be dated. /metrics counts attempts by
# id and takes those dated ``app.metrics.SETTLED_AFTER`` ago as all written, so an id
# must never be dated further back than that when its row appears.
MAX_ID_BACKDATING = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Sent:
    """A claimed delivery and what its attempt did."""

    item: Claimed
    result: AttemptResult


class _Current(NamedTuple):
    status: str
    attempt_count: int
    lease_token: str | None


_DELIVERIES = cast(Table, Delivery.__table__)


def _lock_statement(member: Any) -> Any:
    return (
        select(
            _DELIVERIES.c.id,
            _DELIVERIES.c.status,
            _DELIVERIES.c.attempt_count,
            _DELIVERIES.c.lease_token,
        )
        .where(member(_DELIVERIES.c.id, "b_ids"))
        .order_by(_DELIVERIES.c.id)
    )


_LOCK_POSTGRESQL = _lock_statement(any_of).with_for_update()
_LOCK_SQLITE = _lock_statement(one_of)  # SQLite writers hold the database from BEGIN
_INSERT_ATTEMPTS = insert(cast(Table, Attempt.__table__))
# What every recorded attempt writes to its delivery; one still under the attempt's lease
# also gets its next attempt and gives the lease back.
_WRITE_COUNTS = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        attempt_count=bindparam("b_attempt_count"),
        last_status_code=bindparam("b_status_code"),
        last_attempt_at=bindparam("b_now", type_=UTCDateTime()),
        updated_at=bindparam("b_now", type_=UTCDateTime()),
    )
)
_WRITE_DELIVERY = _WRITE_COUNTS.values(
    next_attempt_at=bindparam("b_next_attempt_at", type_=UTCDateTime()),
    next_trigger=bindparam("b_next_trigger"),
    lease_token=bindparam("b_lease_token"),
    lease_until=bindparam("b_lease_until", type_=UTCDateTime()),
)


async def record_attempts(
    session: AsyncSession,
    settings: Settings,
    sent: Sequence[Sent],
    rng: random.Random,
    now: datetime,
) -> None:
    """Write every attempt of ``sent`` and move each delivery on, in the caller's
    transaction; lanes with retries coming are woken after the commit."""
    health = await update_endpoint_health(
        session, settings, [(s.item, s.result) for s in sent], now
    )
    current = await _lock(session, [s.item.delivery.id for s in sent])
    attempts: list[dict[str, object]] = []
    writes: dict[str, dict[str, object]] = {}
    events: list[OperationalEvent] = list(health.events)
    retries: dict[str, tuple[Claimed, datetime]] = {}
    for done in sent:
        item, result = done.item, done.result
        row = current.get(item.delivery.id)
        if row is None:
            continue
        attempt = _attempt_row(item, result, now)
        attempts.append(attempt)
        state = after_attempt(
            previous=row.status,
            trigger=item.delivery.next_trigger,
            succeeded=result.ok,
            attempts_made=row.attempt_count + 1,
            retry_after_s=result.retry_after_s,
            policy=RetryPolicy(
                item.project.retry_schedule_s, settings.retry_jitter, settings.max_retry_after_s
            ),
            now=now,
            rng=rng,
        )
        if state.status == "exhausted" and row.status != "exhausted":
            events.append(attempt_event("message.attempt.exhausted", item, attempt))
        elif not result.ok and row.attempt_count + 1 == item.project.failing_after_attempts:
            events.append(attempt_event("message.attempt.failing", item, attempt))
        still_leased = row.lease_token == item.lease_token
        current[item.delivery.id] = _Current(
            state.status, row.attempt_count + 1, None if still_leased else row.lease_token
        )
        write = writes.setdefault(item.delivery.id, {"b_id": item.delivery.id})
        write.update(
            b_status=state.status,
            b_attempt_count=row.attempt_count + 1,
            b_status_code=result.status_code,
            b_now=now,
        )
        if still_leased:
            write.update(
                b_next_attempt_at=state.next_attempt_at,
                b_next_trigger="scheduled",
                b_lease_token=None,
                b_lease_until=None,
            )
            if state.next_attempt_at is not None:
                retries[item.delivery.id] = (item, state.next_attempt_at)
    if attempts:
        await session.execute(_INSERT_ATTEMPTS, attempts)
        await _write_deliveries(session, list(writes.values()))
    await announce(session, settings, events)
    _wake_lanes(session, retries.values(), health.recovered, sent, now)


async def _lock(session: AsyncSession, delivery_ids: list[str]) -> dict[str, _Current]:
    """The deliveries that still exist, as they are now, locked until the commit."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    stmt = _LOCK_POSTGRESQL if postgresql else _LOCK_SQLITE
    rows = await session.execute(stmt, {"b_ids": sorted(set(delivery_ids))})
    return {row.id: _Current(row.status, row.attempt_count, row.lease_token) for row in rows}


async def _write_deliveries(session: AsyncSession, writes: list[dict[str, object]]) -> None:
    """Each delivery's new columns; those a newer request owns are left as they are."""
    whole = [write for write in writes if "b_next_trigger" in write]
    partial = [write for write in writes if "b_next_trigger" not in write]
    if whole:
        await session.execute(_WRITE_DELIVERY, whole)
    if partial:
        await session.execute(_WRITE_COUNTS, partial)


def _wake_lanes(
    session: AsyncSession,
    retries: Any,
    recovered: set[str],
    sent: Sequence[Sent],
    now: datetime,
) -> None:
    """After the commit: each endpoint's lane at its earliest retry, and the lanes of
    endpoints that answered again, their circuit gate lifted."""
    earliest: dict[str, tuple[Claimed, datetime]] = {}
    for item, when in retries:
        known = earliest.get(item.endpoint.id)
        if known is None or when < known[1]:
            earliest[item.endpoint.id] = (item, when)
    for endpoint_id, (item, when) in earliest.items():
        enqueue_after_commit(session, _lane_work(item, when, reopen=endpoint_id in recovered))
    by_endpoint = {s.item.endpoint.id: s.item for s in sent}
    for endpoint_id in recovered - earliest.keys():
        enqueue_after_commit(session, _lane_work(by_endpoint[endpoint_id], now, reopen=True))


def _lane_work(item: Claimed, due_at: datetime, *, reopen: bool) -> LaneWork:
    return LaneWork(item.tenant.id, item.endpoint.id, item.endpoint.rate_limit, due_at, reopen)


def _attempt_row(item: Claimed, result: AttemptResult, now: datetime) -> dict[str, object]:
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
