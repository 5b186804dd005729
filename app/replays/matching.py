"""Which deliveries a replay covers, as SQL.

A delivery matches when it belongs to the project (never to its hidden operational
tenant), its status is one of the filter's, and its message was published in
[since, until). A delivery is created in the same instant as its message, so the window
is applied to ``deliveries.created_at`` (no join needed); ``event_type`` joins the
message. Delivery ids are time-sortable, so the scan can start at the id floor of
``since`` and walk the primary key.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Delivery, Message, Replay, Tenant
from app.ids import id_floor


@dataclass(frozen=True)
class ReplayFilter:
    """A validated replay filter; ``tenant_id``/``endpoint_id`` are ids of the project."""

    since: datetime
    until: datetime
    statuses: tuple[str, ...] = ("failed", "exhausted")
    tenant_id: str | None = None
    endpoint_id: str | None = None
    event_type: str | None = None

    @classmethod
    def of(cls, replay: Replay) -> "ReplayFilter":
        return cls(
            since=replay.since,
            until=replay.until,
            statuses=tuple(replay.statuses),
            tenant_id=replay.tenant_id,
            endpoint_id=replay.endpoint_id,
            event_type=replay.event_type,
        )


def in_scope(project_id: str, rules: ReplayFilter) -> Select[Delivery]:
    """Deliveries of the filter's window, tenant, endpoint and event type, any status."""
    operational = select(Tenant.id).where(
        Tenant.project_id == project_id, Tenant.is_operational.is_(True)
    )
    stmt = select(Delivery).where(
        Delivery.project_id == project_id,
        Delivery.tenant_id.not_in(operational),
        Delivery.id >= id_floor("dlv", rules.since),
        Delivery.created_at >= rules.since,
        Delivery.created_at < rules.until,
    )
    if rules.tenant_id is not None:
        stmt = stmt.where(Delivery.tenant_id == rules.tenant_id)
    if rules.endpoint_id is not None:
        stmt = stmt.where(Delivery.endpoint_id == rules.endpoint_id)
    if rules.event_type is not None:
        stmt = stmt.join(Message, Message.id == Delivery.message_id).where(
            Message.event_type == rules.event_type
        )
    return stmt


def matching(project_id: str, rules: ReplayFilter) -> Select[Delivery]:
    """The deliveries a replay with ``rules`` would resend, in no particular order."""
    return in_scope(project_id, rules).where(Delivery.status.in_(rules.statuses))


async def count_matching(session: AsyncSession, project_id: str, rules: ReplayFilter) -> int:
    """How many deliveries match now (the console's preview, a replay's ``total``)."""
    subquery = matching(project_id, rules).with_only_columns(Delivery.id).subquery()
    return int(await session.scalar(select(func.count()).select_from(subquery)) or 0)
