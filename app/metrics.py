"""Prometheus text, computed from the database at scrape time, at a cost that does not
grow with history.

The database is the one place that sees every api, worker and scheduler process, so
queue depth, delivery lag and outcome counts come from it; no per-process registry to
merge. Each scrape reads only bounded sets: the unsettled deliveries (through the
partial index of due deliveries, joined to their endpoints only where they are due) and
the last few minutes of attempts; older attempts are counted once per process and kept as
a running total (``AttemptTotals``).

Lag and the due count cover only deliveries Herald is free to send; the ones an endpoint
holds back (``held_back``) are counted apart, so that one tenant's paused, disabled,
rate-limited or broken endpoint never reads as Herald falling behind.
"""

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.models import Attempt, Delivery, Endpoint
from app.db.session import Database
from app.ids import id_floor

# An attempt's id carries the time it began, or a minute before it was written if it
# began earlier still (app.delivery.recording.MAX_ID_BACKDATING). Anything dated before
# this is taken as written.
SETTLED_AFTER = timedelta(minutes=5)


class AttemptTotals:
    """Attempts by outcome since the beginning, exact at each scrape: attempts older than
    ``SETTLED_AFTER`` are counted once and kept; only the newer ones are counted again."""

    def __init__(self) -> None:
        self._settled: Counter[str] = Counter()
        self._watermark: str | None = None  # attempts with a smaller id are in _settled
        self._lock = asyncio.Lock()

    async def read(self, session: AsyncSession, now: datetime) -> Counter[str]:
        async with self._lock:
            floor = id_floor("atm", now - SETTLED_AFTER)
            if self._watermark is None or floor > self._watermark:
                newly_settled = select(Attempt.status, func.count()).where(Attempt.id < floor)
                if self._watermark is not None:
                    newly_settled = newly_settled.where(Attempt.id >= self._watermark)
                for status, count in await session.execute(newly_settled.group_by(Attempt.status)):
                    self._settled[status] += count
                self._watermark = floor
            recent = select(Attempt.status, func.count()).where(Attempt.id >= self._watermark)
            totals = Counter(self._settled)
            for status, count in await session.execute(recent.group_by(Attempt.status)):
                totals[status] += count
            return totals


def held_back(now: datetime, circuit_failure_threshold: int) -> ColumnElement[bool]:
    """Whether a delivery's endpoint (joined as ``Endpoint``) holds it back at ``now``:
    paused, disabled, rate-limited, or with its circuit open as
    ``app.delivery.circuit.circuit_state`` defines it. Never NULL, so ``not_`` of it is
    exactly "free to send"."""
    circuit_open = and_(
        Endpoint.consecutive_failures >= circuit_failure_threshold,
        Endpoint.circuit_open_until.is_not(None),
        Endpoint.circuit_open_until > now,
    )
    return or_(
        Endpoint.paused.is_(True),
        Endpoint.disabled.is_(True),
        Endpoint.rate_limit.is_not(None),
        circuit_open,
    )


@dataclass(frozen=True)
class DueBacklog:
    """The deliveries due at a moment, split by whether Herald is free to send them."""

    free: int
    held: int
    oldest_free_due_at: datetime | None  # None when no free delivery is due


async def read_due_backlog(
    session: AsyncSession, now: datetime, circuit_failure_threshold: int
) -> DueBacklog:
    """Count the deliveries due at ``now`` (free and held back) and find the oldest free
    one, in one pass over the due range of ``ix_deliveries_due``."""
    held = held_back(now, circuit_failure_threshold)
    free = not_(held)
    row = (
        await session.execute(
            select(
                func.count(case((free, 1))),
                func.count(case((held, 1))),
                func.min(case((free, Delivery.next_attempt_at))),
            )
            .select_from(Delivery)
            .join(Endpoint, Endpoint.id == Delivery.endpoint_id)
            .where(Delivery.next_attempt_at <= now)
        )
    ).one()
    return DueBacklog(free=row[0], held=row[1], oldest_free_due_at=row[2])


async def render_metrics(
    database: Database, attempt_totals: AttemptTotals, settings: Settings
) -> str:
    """The Prometheus text exposition of the database's state at this moment."""
    now = datetime.now(UTC)
    unsettled = Delivery.next_attempt_at.is_not(None)  # the partial index ix_deliveries_due
    async with database.session() as session:
        by_status = dict(
            (
                await session.execute(
                    select(Delivery.status, func.count()).where(unsettled).group_by(Delivery.status)
                )
            ).all()
        )
        due = await read_due_backlog(session, now, settings.circuit_failure_threshold)
        attempts = await attempt_totals.read(session, now)
    oldest = due.oldest_free_due_at
    lag_s = (now - oldest).total_seconds() if oldest else 0.0
    lines = [
        "# HELP herald_deliveries Deliveries not yet settled (succeeded or exhausted), by status.",
        "# TYPE herald_deliveries gauge",
        *(
            f'herald_deliveries{{status="{status}"}} {by_status.get(status, 0)}'
            for status in ("pending", "failed")
        ),
        "# HELP herald_deliveries_due Deliveries due now that Herald is free to send.",
        "# TYPE herald_deliveries_due gauge",
        f"herald_deliveries_due {due.free}",
        "# HELP herald_deliveries_held Deliveries due now that their endpoint holds back"
        " (paused, disabled, rate-limited or circuit open).",
        "# TYPE herald_deliveries_held gauge",
        f"herald_deliveries_held {due.held}",
        "# HELP herald_delivery_lag_seconds Age of the oldest due delivery Herald is free to"
        " send (0 when none).",
        "# TYPE herald_delivery_lag_seconds gauge",
        f"herald_delivery_lag_seconds {lag_s:.3f}",
        "# HELP herald_attempts_total Attempts recorded, by outcome.",
        "# TYPE herald_attempts_total counter",
        *(
            f'herald_attempts_total{{status="{status}"}} {attempts.get(status, 0)}'
            for status in ("succeeded", "failed")
        ),
    ]
    return "\n".join(lines) + "\n"
