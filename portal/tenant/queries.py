"""Read-only queries the portal's pages need beyond the domain services' API shapes.

Every function is scoped by the session's project and tenant ids, like the services.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Attempt, Delivery, Endpoint, Message
from app.pagination import Page, PageRequest, paginate
from portal.tenant.session import PortalSession


@dataclass(frozen=True)
class LogFilter:
    event_type: str | None = None
    status: str | None = None  # a delivery state: pending | succeeded | failed | exhausted
    since: datetime | None = None
    until: datetime | None = None


async def message_log(
    session: AsyncSession, portal: PortalSession, filters: LogFilter, page: PageRequest
) -> Page[Message]:
    """The tenant's messages, newest first; ``status`` keeps those with such a delivery."""
    stmt = select(Message).where(
        Message.project_id == portal.project_id, Message.tenant_id == portal.tenant_id
    )
    if filters.event_type:
        stmt = stmt.where(Message.event_type == filters.event_type)
    if filters.since:
        stmt = stmt.where(Message.created_at >= filters.since)
    if filters.until:
        stmt = stmt.where(Message.created_at < filters.until)
    if filters.status:
        stmt = stmt.where(
            exists().where(Delivery.message_id == Message.id, Delivery.status == filters.status)
        )
    return await paginate(session, stmt, Message.id, page)


async def delivery_states(
    session: AsyncSession, portal: PortalSession, message_ids: Sequence[str]
) -> dict[str, Counter[str]]:
    """Per message id, how many of its deliveries are in each state; a failed delivery
    with a next attempt counts as ``"retrying"``."""
    if not message_ids:
        return {}
    rows = await session.execute(
        select(Delivery.message_id, Delivery.status, Delivery.next_attempt_at).where(
            Delivery.tenant_id == portal.tenant_id, Delivery.message_id.in_(message_ids)
        )
    )
    states: dict[str, Counter[str]] = {message_id: Counter() for message_id in message_ids}
    for message_id, status, next_attempt_at in rows:
        retrying = status == "failed" and next_attempt_at is not None
        states[message_id]["retrying" if retrying else status] += 1
    return states


async def tenant_endpoints(
    session: AsyncSession, portal: PortalSession, ids: Sequence[str]
) -> dict[str, Endpoint]:
    if not ids:
        return {}
    rows = await session.scalars(
        select(Endpoint).where(Endpoint.tenant_id == portal.tenant_id, Endpoint.id.in_(ids))
    )
    return {endpoint.id: endpoint for endpoint in rows}


async def attempts_by_hour(
    session: AsyncSession, endpoint_id: str, since: datetime, hours: int
) -> list[tuple[datetime, int, int]]:
    """``(hour start, succeeded, failed)`` for each of ``hours`` hours from ``since``."""
    start = since.replace(minute=0, second=0, microsecond=0)
    rows = await session.execute(
        select(Attempt.created_at, Attempt.status).where(
            Attempt.endpoint_id == endpoint_id, Attempt.created_at >= start
        )
    )
    buckets: Counter[tuple[int, str]] = Counter()
    for created_at, status in rows:
        buckets[(int((created_at - start).total_seconds() // 3600), status)] += 1
    return [
        (start + timedelta(hours=h), buckets[(h, "succeeded")], buckets[(h, "failed")])
        for h in range(hours)
    ]
