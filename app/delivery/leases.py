"""The claim's SQL: lease the claimable deliveries and load what sending them needs.

Built once at import, with bound parameters for everything that varies (``app.db.lists``).
Built per call, the CTE's column adaptation in Python and a server-side prepare for each
new list length cost a worker more than the round trip itself.
"""

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Select,
    Table,
    Update,
    bindparam,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.lists import Member, any_of, one_of
from app.db.models import Delivery, Endpoint, Message, Project, Tenant

_DELIVERIES = cast(Table, Delivery.__table__)


def _take(member: Member) -> Update:
    """Lease (``b_token`` until ``b_until``) each delivery of ``b_ids`` that is due and
    still under one of its jobs' ``b_tokens``, or whose lease lapsed."""
    return (
        update(_DELIVERIES)
        .where(
            member(_DELIVERIES.c.id, "b_ids"),
            _DELIVERIES.c.next_attempt_at <= bindparam("b_now"),
            or_(
                member(_DELIVERIES.c.lease_token, "b_tokens"),
                _DELIVERIES.c.lease_until.is_(None),
                _DELIVERIES.c.lease_until < bindparam("b_now"),
            ),
        )
        .values(lease_token=bindparam("b_token"), lease_until=bindparam("b_until"))
    )


def _with_context(delivery: Any) -> Select[Any]:
    return (
        select(delivery, Message, Endpoint, Project, Tenant)
        .join(Message, Message.id == delivery.message_id)
        .join(Endpoint, Endpoint.id == delivery.endpoint_id)
        .join(Project, Project.id == delivery.project_id)
        .join(Tenant, Tenant.id == delivery.tenant_id)
    )


# PostgreSQL: one statement, the UPDATE … RETURNING feeding the join as a CTE.
_CLAIM_POSTGRESQL = _with_context(
    aliased(
        Delivery,
        _take(any_of).returning(*_DELIVERIES.c).cte("claimed"),
        name="Delivery",
    )
)
# SQLite has no data-modifying CTEs: the UPDATE, then the join.
_TAKE_SQLITE = _take(one_of).returning(_DELIVERIES.c.id)
_LOAD_SQLITE = _with_context(Delivery).where(one_of(Delivery.id, "b_ids"))


async def take_leases(
    session: AsyncSession,
    delivery_ids: Sequence[str],
    tokens: Collection[str],
    now: datetime,
    lease_token: str,
    lease_until: datetime,
) -> Sequence[Any]:
    """Lease the claimable deliveries of ``delivery_ids``; rows of (Delivery, Message,
    Endpoint, Project, Tenant)."""
    params = {
        "b_ids": list(delivery_ids),
        "b_tokens": list(tokens),
        "b_now": now,
        "b_token": lease_token,
        "b_until": lease_until,
    }
    rows: Sequence[Any] = []
    if session.get_bind().dialect.name == "postgresql":
        rows = (await session.execute(_CLAIM_POSTGRESQL, params)).all()
    elif ids := (await session.execute(_TAKE_SQLITE, params)).scalars().all():
        rows = (await session.execute(_LOAD_SQLITE, {"b_ids": list(ids)})).all()
    return rows
