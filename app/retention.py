"""Enforcing each project's ``retention_days``: old messages go, with their deliveries and
attempts, in short batches that any number of schedulers may run at once.

A message is old when its id (which carries its creation time, ``app.ids``) is older than
the project's retention. One whose delivery is still due (a retry pending, or a paused
endpoint's backlog) stays until that delivery settles: retention never drops a webhook
that has not been sent or given up on.

Sign-in leftovers go the same way (``purge_sign_in_records``): login failures once their
window and any lockout are over (they count for nothing then), and portal magic-link
tokens once they can neither be redeemed nor back a live session.
"""

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Attempt, Delivery, LoginFailure, Message, PortalToken, Project
from app.ids import id_floor
from app.portal_access.service import SESSION_LIFETIME
from app.staff.throttle import FAILURE_WINDOW

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


async def purge_sign_in_records(session: AsyncSession, now: datetime, batch: int = BATCH) -> int:
    """Delete up to ``batch`` login failures that no longer count and up to ``batch``
    spent portal tokens; return how many rows were deleted. Call again while it returns any.

    A token is spent when it expired unused, or was used longer ago than a portal session
    lasts; a token whose row is gone is refused like a used one.
    """
    failure_over = and_(
        LoginFailure.first_failed_at < now - FAILURE_WINDOW,
        or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until < now),
    )
    pair = tuple_(LoginFailure.email, LoginFailure.client_ip)
    failures = select(LoginFailure.email, LoginFailure.client_ip).where(failure_over)
    token_spent = or_(
        and_(PortalToken.used_at.is_(None), PortalToken.expires_at < now),
        PortalToken.used_at < now - SESSION_LIFETIME,
    )
    tokens = select(PortalToken.jti).where(token_spent)
    # The condition again on the outer DELETE: a row refreshed since the subquery read it
    # (a new failure) is re-checked by PostgreSQL and kept.
    deleted = await _delete(session, LoginFailure, pair.in_(failures.limit(batch)), failure_over)
    deleted += await _delete(
        session, PortalToken, PortalToken.jti.in_(tokens.limit(batch)), token_spent
    )
    return deleted


async def _delete(
    session: AsyncSession, model: type[LoginFailure | PortalToken], *where: ColumnElement[bool]
) -> int:
    result = await session.execute(delete(model).where(*where))
    return int(getattr(result, "rowcount", 0) or 0)
