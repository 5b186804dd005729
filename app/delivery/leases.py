"""The claim's SQL: lease the claimable deliveries and load what sending them needs.

Built once at import, with bound parameters for everything that varies (``app.db.lists``).
Built per call, the CTE's column adaptation in Python and a server-side prepare for each
new list length cost a worker more than the round trip itself.
"""

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Row,
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


class LeasedDelivery(NamedTuple):
    """The columns of a claimed delivery that its attempt and its record read."""

    id: str
    project_id: str
    tenant_id: str
    message_id: str
    endpoint_id: str
    status: str
    attempt_count: int
    next_trigger: str


class MessageToSend(NamedTuple):
    """The columns of a claimed delivery's message that its request and events read."""

    id: str
    event_type: str
    event_id: str | None
    payload: bytes
    headers: dict[str, str] | None


class Leased(NamedTuple):
    """A claimed delivery with its context. The delivery and its message, new in every
    row, are plain columns: as ORM objects they cost a worker ~10 % of its loop. The
    endpoint, project and tenant, shared by the batch's rows, stay ORM objects."""

    delivery: LeasedDelivery
    message: MessageToSend
    endpoint: Endpoint
    project: Project
    tenant: Tenant


_DELIVERY_COLUMNS = len(LeasedDelivery._fields)
_MESSAGE_COLUMNS = len(MessageToSend._fields)


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
    """The columns of ``Leased``, in its order."""
    return (
        select(
            *(getattr(delivery, name) for name in LeasedDelivery._fields),
            *(getattr(Message, name) for name in MessageToSend._fields),
            Endpoint,
            Project,
            Tenant,
        )
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
_LOAD = _with_context(Delivery).where(one_of(Delivery.id, "b_ids"))


async def take_leases(
    session: AsyncSession,
    delivery_ids: Sequence[str],
    tokens: Collection[str],
    now: datetime,
    lease_token: str,
    lease_until: datetime,
) -> list[Leased]:
    """Lease the claimable deliveries of ``delivery_ids``, with their context."""
    params = {
        "b_ids": list(delivery_ids),
        "b_tokens": list(tokens),
        "b_now": now,
        "b_token": lease_token,
        "b_until": lease_until,
    }
    if session.get_bind().dialect.name == "postgresql":
        return _leased((await session.execute(_CLAIM_POSTGRESQL, params)).all())
    ids = (await session.execute(_TAKE_SQLITE, params)).scalars().all()
    return await load_leased(session, ids) if ids else []


async def load_leased(session: AsyncSession, delivery_ids: Sequence[str]) -> list[Leased]:
    """The deliveries of ``delivery_ids`` with their context, as a claim loads them (no
    lease taken)."""
    return _leased((await session.execute(_LOAD, {"b_ids": list(delivery_ids)})).all())


def _leased(rows: Sequence[Row[Any]]) -> list[Leased]:
    messages_end = _DELIVERY_COLUMNS + _MESSAGE_COLUMNS
    return [
        Leased(
            LeasedDelivery._make(row[:_DELIVERY_COLUMNS]),
            MessageToSend._make(row[_DELIVERY_COLUMNS:messages_end]),
            *row[messages_end:],
        )
        for row in rows
    ]
