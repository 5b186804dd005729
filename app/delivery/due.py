"""Finding due deliveries that no job holds, and leasing them to a new job.

This is how retries happen (a failed delivery's ``next_attempt_at`` comes due) and how
nothing is lost: a job dropped between commit and enqueue, lost with Redis, or killed
with its worker leaves a lease that lapses, and the delivery is leased again here.
"""

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.models import Delivery, Endpoint
from app.db.session import enqueue_after_commit
from app.delivery.jobs import attempt_jobs, new_lease_token


async def lease_due_deliveries(
    session: AsyncSession, settings: Settings, now: datetime, limit: int = 1000
) -> int:
    """Lease up to ``limit`` due, unleased deliveries of live endpoints; return how many.

    Their jobs are sent after the caller commits. On PostgreSQL the rows are locked with
    SKIP LOCKED, so several schedulers never lease the same delivery twice.
    """
    stmt = (
        select(Delivery.id)
        .join(Endpoint, Endpoint.id == Delivery.endpoint_id)
        .where(
            Delivery.next_attempt_at <= now,
            or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
            Endpoint.paused.is_(False),
            Endpoint.disabled.is_(False),
        )
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Delivery, skip_locked=True)
    due_ids = list((await session.scalars(stmt)).all())
    if not due_ids:
        return 0
    token = new_lease_token()
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(due_ids))
        .values(lease_token=token, lease_until=now + timedelta(seconds=settings.requeue_after_s))
        .execution_options(synchronize_session=False)
    )
    for job in attempt_jobs(token, due_ids):
        enqueue_after_commit(session, job)
    return len(due_ids)
