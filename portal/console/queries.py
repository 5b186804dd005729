"""Read-only queries of the console, always within the staff's project.

``search`` finds deliveries across every tenant of the project (never the hidden
operational tenant) by message id or event id, tenant id or uid, endpoint URL
(substring), delivery status and time window, newest first, in pages keyed by delivery
id. ``message_detail`` is a message with each delivery and its attempts.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Row, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Attempt, Delivery, Endpoint, Message, Tenant
from app.errors import not_found

PAGE_SIZE = 50
STATUSES = ("pending", "succeeded", "failed", "exhausted")


@dataclass(frozen=True)
class SearchFilter:
    message: str = ""  # a message id or an event id
    tenant: str = ""  # a tenant id or uid
    endpoint_url: str = ""  # a substring of the endpoint's URL
    status: str = ""
    since: datetime | None = None
    until: datetime | None = None
    before: str = ""  # paging: only deliveries with a smaller id

    @property
    def is_empty(self) -> bool:
        return not (self.message or self.tenant or self.endpoint_url or self.status) and not (
            self.since or self.until
        )


@dataclass(frozen=True)
class SearchPage:
    rows: Sequence[Row[Delivery, Message, Tenant, Endpoint]]
    next_before: str | None


async def search(session: AsyncSession, project_id: str, rules: SearchFilter) -> SearchPage:
    stmt = (
        select(Delivery, Message, Tenant, Endpoint)
        .join(Message, Message.id == Delivery.message_id)
        .join(Tenant, Tenant.id == Delivery.tenant_id)
        .join(Endpoint, Endpoint.id == Delivery.endpoint_id)
        .where(Delivery.project_id == project_id, Tenant.is_operational.is_(False))
    )
    if rules.message:
        stmt = stmt.where(or_(Message.id == rules.message, Message.event_id == rules.message))
    if rules.tenant:
        stmt = stmt.where(or_(Tenant.id == rules.tenant, Tenant.uid == rules.tenant))
    if rules.endpoint_url:
        stmt = stmt.where(Endpoint.url.contains(rules.endpoint_url, autoescape=True))
    if rules.status in STATUSES:
        stmt = stmt.where(Delivery.status == rules.status)
    if rules.since:
        stmt = stmt.where(Delivery.created_at >= rules.since)
    if rules.until:
        stmt = stmt.where(Delivery.created_at < rules.until)
    if rules.before:
        stmt = stmt.where(Delivery.id < rules.before)
    rows = (await session.execute(stmt.order_by(Delivery.id.desc()).limit(PAGE_SIZE + 1))).all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return SearchPage(rows=rows, next_before=rows[-1].Delivery.id if more else None)


@dataclass
class DeliveryDetail:
    delivery: Delivery
    endpoint: Endpoint
    attempts: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True)
class MessageDetail:
    message: Message
    tenant: Tenant
    deliveries: list[DeliveryDetail]


async def message_detail(session: AsyncSession, project_id: str, message_id: str) -> MessageDetail:
    """The project's message with its deliveries and attempts (newest attempt first)."""
    row = (
        await session.execute(
            select(Message, Tenant)
            .join(Tenant, Tenant.id == Message.tenant_id)
            .where(
                Message.id == message_id,
                Message.project_id == project_id,
                Tenant.is_operational.is_(False),
            )
        )
    ).first()
    if row is None:
        raise not_found("message", message_id)
    pairs = (
        await session.execute(
            select(Delivery, Endpoint)
            .join(Endpoint, Endpoint.id == Delivery.endpoint_id)
            .where(Delivery.message_id == message_id)
            .order_by(Delivery.id)
        )
    ).all()
    details = {pair.Delivery.id: DeliveryDetail(pair.Delivery, pair.Endpoint) for pair in pairs}
    attempts = await session.scalars(
        select(Attempt).where(Attempt.message_id == message_id).order_by(Attempt.id.desc())
    )
    for attempt in attempts:
        if attempt.delivery_id in details:
            details[attempt.delivery_id].attempts.append(attempt)
    return MessageDetail(row.Message, row.Tenant, list(details.values()))
