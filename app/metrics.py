"""Prometheus text, computed from the database at scrape time.

The database is the one place that sees every api, worker and scheduler process, so
queue depth, delivery lag and outcome counts come from it; no per-process registry to
merge.
"""

from datetime import UTC, datetime

from sqlalchemy import func, select

from app.db.models import Attempt, Delivery
from app.db.session import Database


async def render_metrics(database: Database) -> str:
    now = datetime.now(UTC)
    async with database.session() as session:
        by_status = dict(
            (
                await session.execute(
                    select(Delivery.status, func.count()).group_by(Delivery.status)
                )
            ).all()
        )
        oldest_due = await session.scalar(
            select(func.min(Delivery.next_attempt_at)).where(Delivery.next_attempt_at <= now)
        )
        due = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.next_attempt_at <= now)
        )
        attempts = dict(
            (
                await session.execute(select(Attempt.status, func.count()).group_by(Attempt.status))
            ).all()
        )
    lag_s = (now - oldest_due).total_seconds() if oldest_due else 0.0
    lines = [
        "# HELP herald_deliveries Deliveries by status.",
        "# TYPE herald_deliveries gauge",
        *(
            f'herald_deliveries{{status="{status}"}} {by_status.get(status, 0)}'
            for status in ("pending", "succeeded", "failed", "exhausted")
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
