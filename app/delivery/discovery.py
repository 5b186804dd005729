"""Finding every lane with deliveries due, so that no wake-up lost on the way is ever
missed: the scheduler's safety net under the lanes.

A lane is woken whenever a commit makes deliveries due (a publish, a recording of a
failure, a resend, a resume). A wake-up can still be lost: Redis was down or restarted,
or a worker died holding leases, which lapse. Each scheduler pass therefore wakes the
lane of every live endpoint whose oldest claimable delivery is due, at a cost that grows
with the number of endpoints with unsettled deliveries, not with their deliveries: it
skips from one endpoint to the next through ``ix_deliveries_lane``.
"""

from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.models import Delivery, Endpoint
from app.outbox import LaneWork

_DELIVERIES = cast(Table, Delivery.__table__)


async def due_lanes(session: AsyncSession, now: datetime) -> list[LaneWork]:
    """A wake-up for each live endpoint with a claimable delivery due by ``now``."""
    later = aliased(_DELIVERIES)
    first = (
        select(func.min(_DELIVERIES.c.endpoint_id).label("endpoint_id"))
        .where(_DELIVERIES.c.next_attempt_at.is_not(None))
        .cte("lane", recursive=True)
    )
    following = (
        select(func.min(later.c.endpoint_id))
        .where(later.c.next_attempt_at.is_not(None), later.c.endpoint_id > first.c.endpoint_id)
        .scalar_subquery()
    )
    lanes = first.union_all(select(following).where(first.c.endpoint_id.is_not(None)))
    oldest_claimable = (
        select(func.min(_DELIVERIES.c.next_attempt_at))
        .where(
            _DELIVERIES.c.endpoint_id == Endpoint.id,
            _DELIVERIES.c.next_attempt_at.is_not(None),
            or_(_DELIVERIES.c.lease_until.is_(None), _DELIVERIES.c.lease_until < now),
        )
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Endpoint.tenant_id, Endpoint.id, Endpoint.rate_limit, oldest_claimable).join(
            lanes,
            and_(
                Endpoint.id == lanes.c.endpoint_id,
                Endpoint.paused.is_(False),
                Endpoint.disabled.is_(False),
            ),
        )
    )
    return [
        LaneWork(tenant_id, endpoint_id, rate_limit, due)
        for tenant_id, endpoint_id, rate_limit, due in rows
        if due is not None and due <= now
    ]
