"""Publishing and reading messages.

``publish_many`` writes messages and one delivery per matching endpoint in the caller's
transaction, with a fixed number of statements however many messages there are, and
buffers the attempt jobs; they leave only after the commit. The API gathers concurrent
publishes into one such transaction (``app.messages.batcher``).
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import msgspec
from sqlalchemy import Select, Table, TextClause, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.base import utcnow
from app.db.models import Delivery, Endpoint, Message, Tenant
from app.db.session import enqueue_after_commit
from app.delivery.headers import validate_custom_headers
from app.errors import Conflict, HeraldError, PayloadTooLarge, not_found
from app.event_types.validation import CacheKey, SchemaVersion, versions_of
from app.ids import new_id
from app.messages.fan_out import FanOut
from app.messages.routing import wants
from app.messages.schemas import MessageIn
from app.outbox import LaneWork
from app.pagination import Page, PageRequest, paginate
from app.tenants.service import find_tenants_with_endpoints, get_tenant

DEDUPE_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message being stored: its row's columns, without an ORM instance (one is made
    per publish, and building an instrumented ``Message`` was ~5 % of the api's CPU)."""

    id: str
    project_id: str
    tenant_id: str
    event_type: str
    event_id: str | None
    dedupe_key: str | None
    payload: bytes
    channels: list[str] | None
    headers: dict[str, str] | None
    created_at: datetime


@dataclass(frozen=True)
class Published:
    message: Message | NewMessage  # NewMessage when created, the stored Message otherwise
    created: bool  # False: a duplicate within the dedupe window; nothing was delivered again


@dataclass(frozen=True)
class MessageFilter:
    event_type: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class PublishRequest:
    """One ``POST …/messages``, with what can be checked without the database checked."""

    project_id: str
    tenant_key: str
    data: MessageIn
    payload: bytes  # ``data.payload`` encoded: what is stored and delivered
    dedupe_key: str | None
    headers: dict[str, str] | None
    # The schema version the payload was checked against before the batch, if any.
    validated: CacheKey | None = None


class SchemaChanged(Exception):
    """The request's payload was not checked against its event type's current schema
    (``version``): check it, off the shared batch, and submit it again."""

    def __init__(self, version: SchemaVersion) -> None:
        super().__init__(f"schema version {version.key[0]} changed")
        self.version = version


@dataclass(frozen=True)
class Draft:
    """A message ready to store: tenant found, payload valid and encoded."""

    tenant: Tenant
    event_type: str
    payload: bytes
    event_id: str | None = None
    dedupe_key: str | None = None
    channels: list[str] | None = None
    headers: dict[str, str] | None = None
    # The tenant's endpoints when already loaded (else looked up), filtered by ``wants``.
    endpoints: Sequence[Endpoint] | None = None
    only_endpoint: Endpoint | None = None  # set: to it alone, whatever its filters


def prepare(
    settings: Settings,
    project_id: str,
    tenant_key: str,
    data: MessageIn,
    idempotency_key: str | None = None,
) -> PublishRequest:
    """Check size and headers; raise ``PayloadTooLarge`` or ``ValidationFailed``."""
    payload = msgspec.json.encode(data.payload)
    if len(payload) > settings.max_payload_bytes:
        raise PayloadTooLarge(
            f"the payload is {len(payload)} bytes; the limit is {settings.max_payload_bytes}"
        )
    return PublishRequest(
        project_id=project_id,
        tenant_key=tenant_key,
        data=data,
        payload=payload,
        dedupe_key=_dedupe_key(data.event_id, idempotency_key),
        headers=validate_custom_headers("headers", data.headers) if data.headers else None,
    )


async def publish_many(
    session: AsyncSession, settings: Settings, requests: Sequence[PublishRequest]
) -> list[Published | HeraldError | SchemaChanged]:
    """Store and fan out many messages with a fixed number of queries, whatever their
    count (plus two for each duplicate); each request gets its own outcome (an unknown
    tenant, or a payload not checked against its current schema, fails that request
    alone)."""
    outcomes = await draft_many(session, requests)
    stored = iter(await store(session, settings, [o for o in outcomes if isinstance(o, Draft)]))
    return [next(stored) if isinstance(o, Draft) else o for o in outcomes]


async def draft_many(
    session: AsyncSession, requests: Sequence[PublishRequest]
) -> list[Draft | HeraldError | SchemaChanged]:
    """Each request's ``Draft`` (its tenant found with the tenant's endpoints, its payload
    checked against its event type's current schema), or what refuses it; two queries,
    whatever the count. No payload is validated here: a batch is shared by every
    publisher, so validation happens before it (``app.messages.publish``), and a request
    checked against another version than the current one gets ``SchemaChanged``."""
    tenants = await find_tenants_with_endpoints(
        session, {(r.project_id, r.tenant_key) for r in requests}
    )
    versions = await versions_of(session, {(r.project_id, r.data.event_type) for r in requests})
    outcomes: list[Draft | HeraldError | SchemaChanged] = []
    for request in requests:
        found = tenants.get((request.project_id, request.tenant_key))
        if found is None:
            outcomes.append(not_found("tenant", request.tenant_key))
            continue
        tenant, endpoints = found
        version = versions[(request.project_id, request.data.event_type)]
        # A payload with a schema must have been checked against its current version.
        if version and version.validator is not None and request.validated != version.key:
            outcomes.append(SchemaChanged(version))
            continue
        outcomes.append(
            Draft(
                tenant=tenant,
                event_type=request.data.event_type,
                payload=request.payload,
                event_id=request.data.event_id,
                dedupe_key=request.dedupe_key,
                channels=request.data.channels,
                headers=request.headers,
                endpoints=endpoints,
            )
        )
    return outcomes


async def publish_payload(session: AsyncSession, settings: Settings, draft: Draft) -> Published:
    """Store one already-validated message and fan it out after commit."""
    (outcome,) = await store(session, settings, [draft])
    if isinstance(outcome, HeraldError):
        raise outcome
    return outcome


async def store(
    session: AsyncSession, settings: Settings, drafts: Sequence[Draft]
) -> list[Published | HeraldError]:
    """Insert the messages and their deliveries; jobs leave after commit.

    A ``dedupe_key`` seen for the tenant within 24 h (in this batch too) gives the first
    message back, with ``created=False`` and nothing delivered again.
    """
    if not drafts:
        return []
    now = utcnow()
    messages = [new_message(draft, now) for draft in drafts]
    inserted = await _insert_new(session, messages)
    outcomes: list[Published | HeraldError] = [
        Published(message, created=True)
        if message.id in inserted
        else await _after_conflict(session, message, now)
        for message in messages
    ]
    fresh = [
        (draft, outcome.message)
        for draft, outcome in zip(drafts, outcomes, strict=True)
        if isinstance(outcome, Published) and outcome.created
    ]
    endpoints = await _endpoints_of(
        session,
        {
            message.tenant_id
            for draft, message in fresh
            if draft.only_endpoint is None and draft.endpoints is None
        },
    )
    fan_out = FanOut.of(targets_of(fresh, endpoints), now)
    if fan_out.rows:
        await session.execute(_INSERT_DELIVERIES, fan_out.rows)
    for work in fan_out.lane_work():
        enqueue_after_commit(session, work)
    return outcomes


def targets_of(
    fresh: Iterable[tuple[Draft, Message | NewMessage]],
    endpoints_by_tenant: Mapping[str, Sequence[Endpoint]],
) -> list[tuple[Message | NewMessage, Endpoint]]:
    """Every (message, endpoint) to deliver: the draft's one endpoint, or those of its
    tenant (``draft.endpoints``, else from ``endpoints_by_tenant``) that want it."""
    targets: list[tuple[Message | NewMessage, Endpoint]] = []
    for draft, message in fresh:
        if draft.only_endpoint is not None:
            targets.append((message, draft.only_endpoint))
            continue
        candidates = draft.endpoints
        if candidates is None:
            candidates = endpoints_by_tenant.get(message.tenant_id, [])
        targets.extend(
            (message, endpoint)
            for endpoint in candidates
            if wants(endpoint, message.event_type, message.channels)
        )
    return targets


def new_message(draft: Draft, now: datetime) -> NewMessage:
    return NewMessage(
        id=new_id("msg"),
        project_id=draft.tenant.project_id,
        tenant_id=draft.tenant.id,
        event_type=draft.event_type,
        event_id=draft.event_id,
        dedupe_key=draft.dedupe_key,
        payload=draft.payload,
        channels=draft.channels,
        headers=draft.headers,
        created_at=now,
    )


def _dedupe_key(event_id: str | None, idempotency_key: str | None) -> str | None:
    if event_id:
        return f"event:{event_id}"
    if idempotency_key:
        return f"idem:{idempotency_key[:250]}"
    return None


async def _insert_new(session: AsyncSession, messages: Sequence[NewMessage]) -> set[str]:
    """Insert the messages; the ids of those whose dedupe key was free.

    Core statements in executemany form on the hot path: compiled once and cached, where
    ORM bulk inserts or multi-row ``values()`` would be compiled again for every batch.
    """
    rows = [{name: getattr(message, name) for name in _MESSAGE_COLUMNS} for message in messages]
    dialect = session.get_bind().dialect.name
    stmt = _INSERT_POSTGRESQL if dialect == "postgresql" else _INSERT_SQLITE
    return set((await session.execute(stmt, rows)).scalars())


_MESSAGES = cast(Table, Message.__table__)
_MESSAGE_COLUMNS = [column.key for column in _MESSAGES.columns]
_INSERT_POSTGRESQL = postgresql.insert(_MESSAGES).on_conflict_do_nothing().returning(_MESSAGES.c.id)
_INSERT_SQLITE = sqlite.insert(_MESSAGES).on_conflict_do_nothing().returning(_MESSAGES.c.id)
_INSERT_DELIVERIES = insert(cast(Table, Delivery.__table__))


async def _after_conflict(
    session: AsyncSession, message: NewMessage, now: datetime
) -> Published | HeraldError:
    """``message``'s dedupe key was taken: the live holder, or ``message`` inserted once
    the expired holder has let the key go."""
    duplicate = await _live_duplicate(session, message, now)
    if duplicate is not None:
        return Published(duplicate, created=False)
    if await _insert_new(session, [message]):
        return Published(message, created=True)
    return Conflict("a concurrent publish with the same key is in progress; retry")


async def _live_duplicate(
    session: AsyncSession, message: NewMessage, now: datetime
) -> Message | None:
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


async def _endpoints_of(
    session: AsyncSession, tenant_ids: Collection[str]
) -> dict[str, list[Endpoint]]:
    if not tenant_ids:
        return {}
    by_tenant: dict[str, list[Endpoint]] = {}
    for endpoint in await session.scalars(
        select(Endpoint).where(Endpoint.tenant_id.in_(list(tenant_ids)))
    ):
        by_tenant.setdefault(endpoint.tenant_id, []).append(endpoint)
    return by_tenant


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
    await request_attempts(session, [delivery], trigger="manual")
    return delivery


async def request_attempts(
    session: AsyncSession, deliveries: Sequence[Delivery], trigger: str
) -> None:
    """Make ``deliveries`` due now for a ``trigger`` attempt and wake their lanes after
    commit. Their lease is let go: an attempt in flight is recorded without moving them
    on, and the new attempt may start at once."""
    now = utcnow()
    for delivery in deliveries:
        delivery.next_attempt_at = now
        delivery.next_trigger = trigger
        delivery.lease_token = None
        delivery.lease_until = None
    await session.flush()
    endpoints = await _endpoints_by_id(session, {d.endpoint_id for d in deliveries})
    for endpoint in endpoints:
        if not endpoint.paused:
            enqueue_after_commit(
                session, LaneWork(endpoint.tenant_id, endpoint.id, endpoint.rate_limit, now)
            )


async def _endpoints_by_id(session: AsyncSession, ids: Collection[str]) -> Sequence[Endpoint]:
    if not ids:
        return []
    return (await session.scalars(select(Endpoint).where(Endpoint.id.in_(sorted(ids))))).all()
