"""Prometheus text, computed from the database at scrape time, at a cost that does not
grow with history.

The database is the one place that sees every api, worker and scheduler process, so
queue depth, delivery lag and outcome counts come from it; no per-process registry to
merge. Each scrape reads only bounded sets: the unsettled deliveries (through the
partial index of due deliveries) and the last few minutes of attempts; older attempts are
counted once per process and kept as a running total (``AttemptTotals``).
"""

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Attempt, Delivery
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


async def render_metrics(database: Database, attempt_totals: AttemptTotals) -> str:
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
        oldest_due = await session.scalar(
            select(func.min(Delivery.next_attempt_at)).where(Delivery.next_attempt_at <= now)
        )
        due = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.next_attempt_at <= now)
        )
        attempts = await attempt_totals.read(session, now)
    lag_s = (now - oldest_due).total_seconds() if oldest_due else 0.0
    lines = [
        "# HELP herald_deliveries Deliveries not yet settled (succeeded or exhausted), by status.",
        "# TYPE herald_deliveries gauge",
        *(
            f'herald_deliveries{{status="{status}"}} {by_status.get(status, 0)}'
            for status in ("pending", "failed")
        ),
        "# HELP herald_deliveries_due Deliveries whose next attempt is due now.",
        "# TYPE herald_deliveries_due gauge",
        f"herald_deliveries_due {due or 0}",
        "# HELP herald_delivery_lag_seconds Age of the oldest due delivery (0 when none).",
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
