"""Publishing and reading messages.

``publish`` writes the message and one delivery per matching endpoint in the caller's
transaction and buffers the attempt jobs; they leave only after the commit.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import Select, TextClause, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.base import utcnow
from app.db.models import Delivery, Endpoint, Message, Tenant
from app.db.session import enqueue_after_commit
from app.delivery.headers import validate_custom_headers
from app.delivery.jobs import attempt_jobs, new_lease_token
from app.errors import Conflict, PayloadTooLarge, not_found
from app.event_types.validation import validate_payload
from app.ids import new_id
from app.messages.routing import wants
from app.messages.schemas import MessageIn
from app.pagination import Page, PageRequest, paginate
from app.tenants.service import get_tenant

DEDUPE_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Published:
    message: Message
    created: bool  # False: a duplicate within the dedupe window; nothing was delivered again


@dataclass(frozen=True)
class MessageFilter:
    event_type: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def publish(
    session: AsyncSession,
    settings: Settings,
    project_id: str,
    tenant_key: str,
    data: MessageIn,
    idempotency_key: str | None = None,
) -> Published:
    """Store ``data`` for the tenant and fan it out; a duplicate returns the first message."""
    tenant = await get_tenant(session, project_id, tenant_key)
    payload = msgspec.json.encode(data.payload)
    if len(payload) > settings.max_payload_bytes:
        raise PayloadTooLarge(
            f"the payload is {len(payload)} bytes; the limit is {settings.max_payload_bytes}"
        )
    headers = validate_custom_headers("headers", data.headers) if data.headers else None
    await validate_payload(session, project_id, data.event_type, data.payload)
    return await publish_payload(
        session,
        settings,
        tenant,
        data.event_type,
        payload,
        event_id=data.event_id,
        dedupe_key=_dedupe_key(data.event_id, idempotency_key),
        channels=data.channels,
        headers=headers,
    )


async def publish_payload(
    session: AsyncSession,
    settings: Settings,
    tenant: Tenant,
    event_type: str,
    payload: bytes,
    *,
    event_id: str | None = None,
    dedupe_key: str | None = None,
    channels: list[str] | None = None,
    headers: dict[str, str] | None = None,
    only_endpoint: Endpoint | None = None,
) -> Published:
    """Store an already-validated payload for ``tenant`` and fan it out after commit.

    ``only_endpoint`` sends it to that endpoint alone, whatever its filters (test events).
    A ``dedupe_key`` seen for the tenant within 24 h returns the first message instead.
    """
    now = utcnow()
    message = Message(
        id=new_id("msg"),
        project_id=tenant.project_id,
        tenant_id=tenant.id,
        event_type=event_type,
        event_id=event_id,
        dedupe_key=dedupe_key,
        payload=payload,
        channels=channels,
        headers=headers,
        created_at=now,
    )
    if not await _insert_unless_duplicate(session, message):
        duplicate = await _live_duplicate(session, message, now)
        if duplicate is not None:
            return Published(duplicate, created=False)
        if not await _insert_unless_duplicate(session, message):
            raise Conflict("a concurrent publish with the same key is in progress; retry")
    if only_endpoint is not None:
        targets: Sequence[Endpoint] = [only_endpoint]
    else:
        targets = await _matching_endpoints(session, message)
    await _fan_out(session, settings, message, targets, now)
    return Published(message, created=True)


def _dedupe_key(event_id: str | None, idempotency_key: str | None) -> str | None:
    if event_id:
        return f"event:{event_id}"
    if idempotency_key:
        return f"idem:{idempotency_key[:250]}"
    return None


async def _insert_unless_duplicate(session: AsyncSession, message: Message) -> bool:
    """Insert the message; False when its dedupe key is already taken (race-safe)."""
    values = {
        column.key: getattr(message, column.key) for column in Message.__mapper__.column_attrs
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Message).values(values).on_conflict_do_nothing().returning(Message.id)
    return (await session.execute(stmt)).scalar() is not None


async def _live_duplicate(session: AsyncSession, message: Message, now: datetime) -> Message | None:
    """The message holding ``message``'s dedupe key if still in the window; else free the key."""
    holder = await session.scalar(
        select(Message).where(
            Message.tenant_id == message.tenant_id, Message.dedupe_key == message.dedupe_key
        )
    )
    if holder is not None and holder.created_at > now - DEDUPE_WINDOW:
        return holder
    await session.execute(
        update(Message)
        .where(Message.tenant_id == message.tenant_id, Message.dedupe_key == message.dedupe_key)
        .values(dedupe_key=None)
    )
    return None


async def _matching_endpoints(session: AsyncSession, message: Message) -> list[Endpoint]:
    endpoints = (
        await session.scalars(select(Endpoint).where(Endpoint.tenant_id == message.tenant_id))
    ).all()
    return [e for e in endpoints if wants(e, message.event_type, message.channels)]


async def _fan_out(
    session: AsyncSession,
    settings: Settings,
    message: Message,
    targets: Sequence[Endpoint],
    now: datetime,
) -> None:
    """One delivery per target, due now; jobs for the live ones leave after commit."""
    if not targets:
        return
    token = new_lease_token()
    lease_until = now + timedelta(seconds=settings.requeue_after_s)
    rows = [
        {
            "id": new_id("dlv"),
            "project_id": message.project_id,
            "tenant_id": message.tenant_id,
            "message_id": message.id,
            "endpoint_id": endpoint.id,
            "status": "pending",
            "attempt_count": 0,
            "next_attempt_at": now,
            "next_trigger": "scheduled",
            # A paused endpoint's delivery is held: due, but no job until it resumes.
            "lease_token": None if endpoint.paused else token,
            "lease_until": None if endpoint.paused else lease_until,
            "created_at": now,
            "updated_at": now,
        }
        for endpoint in targets
    ]
    await session.execute(insert(Delivery), rows)
    active = [str(row["id"]) for row in rows if row["lease_token"] is not None]
    for job in attempt_jobs(token, active):
        enqueue_after_commit(session, job)


def _tenant_messages(project_id: str, tenant_id: str) -> Select[Message]:
    return select(Message).where(Message.project_id == project_id, Message.tenant_id == tenant_id)


async def list_messages(
    session: AsyncSession,
    project_id: str,
    tenant_key: str,
    filters: MessageFilter,
    page: PageRequest,
) -> Page[Message]:
    tenant = await get_tenant(session, project_id, tenant_key)
    stmt = _tenant_messages(project_id, tenant.id)
    if filters.event_type:
        stmt = stmt.where(Message.event_type == filters.event_type)
    if filters.since:
        stmt = stmt.where(Message.created_at >= filters.since)
    if filters.until:
        stmt = stmt.where(Message.created_at < filters.until)
    if filters.channel:
        stmt = stmt.where(_on_channel(session, filters.channel))
    return await paginate(session, stmt, Message.id, page)


def _on_channel(session: AsyncSession, channel: str) -> TextClause:
    if session.get_bind().dialect.name == "postgresql":
        clause = "messages.channels @> CAST(:channel_list AS jsonb)"
        return text(clause).bindparams(channel_list=msgspec.json.encode([channel]).decode())
    clause = "EXISTS (SELECT 1 FROM json_each(messages.channels) WHERE json_each.value = :channel)"
    return text(clause).bindparams(channel=channel)


async def get_message(
    session: AsyncSession, project_id: str, tenant_key: str, message_id: str
) -> Message:
    tenant = await get_tenant(session, project_id, tenant_key)
    message = await session.scalar(
        _tenant_messages(project_id, tenant.id).where(Message.id == message_id)
    )
    if message is None:
        raise not_found("message", message_id)
    return message


async def list_deliveries(
    session: AsyncSession, project_id: str, tenant_key: str, message_id: str
) -> Sequence[Delivery]:
    message = await get_message(session, project_id, tenant_key, message_id)
    return (
        await session.scalars(
            select(Delivery).where(Delivery.message_id == message.id).order_by(Delivery.id)
        )
    ).all()


async def resend(
    session: AsyncSession,
    settings: Settings,
    project_id: str,
    tenant_key: str,
    message_id: str,
    endpoint_id: str,
) -> Delivery:
    """Ask for one more attempt of the delivery now, whatever its state."""
    message = await get_message(session, project_id, tenant_key, message_id)
    delivery = await session.scalar(
        select(Delivery).where(
            Delivery.message_id == message.id, Delivery.endpoint_id == endpoint_id
        )
    )
    endpoint = await session.get(Endpoint, endpoint_id)
    if delivery is None or endpoint is None:
        raise not_found("delivery of endpoint", endpoint_id)
    if endpoint.paused or endpoint.disabled:
        state = "paused" if endpoint.paused else "disabled"
        raise Conflict(
            f"endpoint {endpoint_id} is {state}; resume or enable it first",
            code=f"endpoint_{state}",
        )
    await request_attempts(session, settings, [delivery], trigger="manual")
    return delivery


async def request_attempts(
    session: AsyncSession, settings: Settings, deliveries: Sequence[Delivery], trigger: str
) -> None:
    """Make ``deliveries`` due now under a fresh lease and queue them after commit."""
    now = utcnow()
    token = new_lease_token()
    for delivery in deliveries:
        delivery.next_attempt_at = now
        delivery.next_trigger = trigger
        delivery.lease_token = token
        delivery.lease_until = now + timedelta(seconds=settings.requeue_after_s)
    await session.flush()
    for job in attempt_jobs(token, [delivery.id for delivery in deliveries]):
        enqueue_after_commit(session, job)
