"""Endpoint health: runs of failures, the circuit breaker, and disabling dead endpoints.

An endpoint's circuit opens after ``circuit_failure_threshold`` failed attempts in a
row: its deliveries wait, unattempted, until ``circuit_open_until``; then one delivery
probes it (``app.delivery.claim``). Any success closes the circuit and ends the failure
run. A 410 Gone disables the endpoint at once; so does failing every attempt for the
project's ``disable_after_s``. Each disabling is one conditional UPDATE, so however many
workers record failures of an endpoint at once, one of them disables it and announces it.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, literal, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.base import UTCDateTime
from app.db.models import Endpoint
from app.delivery.claim import Claimed
from app.delivery.client import AttemptResult
from app.operational.events import OperationalEvent, endpoint_event


@dataclass
class HealthChanges:
    """What recording a batch did to its endpoints."""

    recovered: set[str] = field(default_factory=set)  # failing when claimed, healthy now
    events: list[OperationalEvent] = field(default_factory=list)


async def update_endpoint_health(
    session: AsyncSession,
    settings: Settings,
    sent: Sequence[tuple[Claimed, AttemptResult]],
    now: datetime,
) -> HealthChanges:
    """Track runs of failures per endpoint: open its circuit after enough in a row,
    disable it on 410 Gone or once it has failed for the project's disable-after.

    Endpoint rows are shared by every concurrent batch: they are updated in one global
    order (sorted ids, one statement each), before any delivery row is locked, so two
    batches, or a batch and a deletion, never wait on each other in a cycle. An endpoint
    that is healthy and was healthy when claimed is not written at all.
    """
    changes = HealthChanges()
    failures: dict[str, int] = defaultdict(int)
    healthy: set[str] = set()
    gone: set[str] = set()
    by_endpoint = {item.endpoint.id: item for item, _ in sent}
    for item, result in sent:
        endpoint_id = item.endpoint.id
        if result.ok:
            healthy.add(endpoint_id)
            if _was_failing(item.endpoint):
                changes.recovered.add(endpoint_id)
        else:
            failures[endpoint_id] += 1
        if result.status_code == 410:
            gone.add(endpoint_id)
    for endpoint_id in sorted(changes.recovered | (failures.keys() - healthy)):
        if endpoint_id in changes.recovered:
            await _clear_failures(session, endpoint_id)
        else:
            await _count_failures(session, settings, endpoint_id, failures[endpoint_id], now)
    for endpoint_id in sorted(gone):
        await _disable(session, by_endpoint[endpoint_id], "the endpoint answered 410 Gone", changes)
    for endpoint_id in sorted(failures.keys() - healthy - gone):
        item = by_endpoint[endpoint_id]
        disable_after_s = item.project.disable_after_s
        await _disable(
            session,
            item,
            f"every attempt failed for {disable_after_s / 86400:g} days",
            changes,
            failing_before=now - timedelta(seconds=disable_after_s),
        )
    return changes


def _was_failing(endpoint: Endpoint) -> bool:
    """Whether the endpoint, as claimed, had a failure run or an open circuit to clear."""
    return bool(
        endpoint.failing_since or endpoint.consecutive_failures or endpoint.circuit_open_until
    )


async def _clear_failures(session: AsyncSession, endpoint_id: str) -> None:
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


async def _count_failures(
    session: AsyncSession, settings: Settings, endpoint_id: str, count: int, now: datetime
) -> None:
    await session.execute(
        update(Endpoint)
        .where(Endpoint.id == endpoint_id)
        .values(
            consecutive_failures=Endpoint.consecutive_failures + count,
            failing_since=func.coalesce(Endpoint.failing_since, literal(now, UTCDateTime())),
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


async def _disable(
    session: AsyncSession,
    item: Claimed,
    reason: str,
    changes: HealthChanges,
    failing_before: datetime | None = None,
) -> None:
    """Disable the endpoint unless it is disabled already; only the one UPDATE that
    disables it announces it."""
    stmt = update(Endpoint).where(Endpoint.id == item.endpoint.id, Endpoint.disabled.is_(False))
    if failing_before is not None:
        stmt = stmt.where(Endpoint.failing_since <= failing_before)
    disabled = await session.scalar(
        stmt.values(disabled=True, disabled_reason=reason).returning(Endpoint.id)
    )
    if disabled is not None:
        changes.events.append(
            endpoint_event("endpoint.disabled", item.tenant, item.endpoint, reason)
        )
