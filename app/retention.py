"""Enforcing each project's ``retention_days``: old messages go, with their deliveries and
attempts, in short batches that any number of schedulers may run at once.

A message is old when its id (which carries its creation time, ``app.ids``) is older than
the project's retention. One whose delivery is still due (a retry pending, or a paused
endpoint's backlog) stays until that delivery settles: retention never drops a webhook
that has not been sent or given up on.
"""

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Attempt, Delivery, Message, Project
from app.ids import id_floor

BATCH = 500


async def purge_expired(session: AsyncSession, now: datetime, batch: int = BATCH) -> int:
    """Delete up to ``batch`` expired messages per project (with their deliveries and
    attempts); return how many messages were deleted. Call again while it returns any."""
    deleted = 0
    projects = (await session.execute(select(Project.id, Project.retention_days))).all()
    for project_id, retention_days in projects:
        cutoff = id_floor("msg", now - timedelta(days=retention_days))
        still_due = exists().where(
            Delivery.message_id == Message.id, Delivery.next_attempt_at.is_not(None)
        )
        expired = (
            await session.scalars(
                select(Message.id)
                .where(Message.project_id == project_id, Message.id < cutoff, ~still_due)
                .order_by(Message.id)
                .limit(batch)
            )
        ).all()
        if not expired:
            continue
        # Children first, explicitly: no reliance on each database's cascade settings.
        await session.execute(delete(Attempt).where(Attempt.message_id.in_(expired)))
        await session.execute(delete(Delivery).where(Delivery.message_id.in_(expired)))
        await session.execute(delete(Message).where(Message.id.in_(expired)))
        deleted += len(expired)
    return deleted
