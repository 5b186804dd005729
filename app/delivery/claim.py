"""Claiming what the lanes granted: lease up to each grant's count of its endpoint's due
deliveries, load what sending them needs, and say how each grant went.

A delivery is claimable while it is due (``next_attempt_at`` has passed) and unleased
(or its lease lapsed); claiming leases it to this worker (``lease_token`` until
``lease_until``), oldest first. Only live endpoints with a closed circuit give
deliveries; a lane that gives none is explained (``Settlement``): its endpoint is gone,
paused or disabled (``park``), its circuit is open (``gate`` until the cool-down ends),
or nothing is claimable now (``dry``). After the cool-down one delivery probes the
endpoint; the probe is taken by pushing the cool-down forward atomically, so concurrent
workers send one.
"""

import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, NamedTuple, cast

from sqlalchemy import Row, Select, Table, bindparam, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.config import Settings
from app.db.lists import one_of
from app.db.models import Delivery, Endpoint, Message, Project, Tenant
from app.delivery.circuit import circuit_state
from app.delivery.keycache import SigningKeyCache
from app.delivery.lanes import Grant, Settlement, to_us
from app.delivery.signing import SigningKey

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
    """A leased delivery with its context. The delivery and its message, new in every
    row, are plain columns; the endpoint, project and tenant, shared by the batch's rows,
    are ORM objects."""

    delivery: LeasedDelivery
    message: MessageToSend
    endpoint: Endpoint
    project: Project
    tenant: Tenant


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery leased to this worker (under ``lease_token`` until ``lease_until``),
    ready to send no earlier than ``not_before_us`` (the lanes' clock; None: at once)."""

    delivery: LeasedDelivery
    message: MessageToSend
    endpoint: Endpoint
    project: Project
    tenant: Tenant
    keys: Sequence[SigningKey]
    lease_token: str
    lease_until: datetime
    not_before_us: int | None = None


Outcome = tuple[list[Claimed], Settlement]  # a grant's claimed deliveries, and how it went


def new_lease_token() -> str:
    return secrets.token_hex(12)


class Lease(NamedTuple):
    """What a claim writes on the rows it takes: a token no other claim has, and the
    time after which any worker may claim them again."""

    token: str
    until: datetime


def new_lease(settings: Settings, now: datetime) -> Lease:
    """A lease that outlives a request at the timeout and its recording."""
    return Lease(new_lease_token(), now + timedelta(seconds=settings.request_timeout_s * 2 + 5))


async def release_lease(session: AsyncSession, lease: Lease) -> int:
    """Give back whatever ``lease`` holds (a claim whose outcome its worker never
    learned): those deliveries are claimable again at once. How many it held."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.lease_token == lease.token)
        .values(lease_token=None, lease_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


_DELIVERY_COLUMNS = len(LeasedDelivery._fields)
_MESSAGE_COLUMNS = len(MessageToSend._fields)


def _with_context(delivery: Any) -> Select[Any]:
    """The columns of ``Leased``, in its order, oldest due first."""
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
        .order_by(delivery.next_attempt_at, delivery.id)
    )


# PostgreSQL: one statement. For each lane (an endpoint and how many), the endpoint's
# oldest claimable deliveries, skipping rows another worker is claiming right now; only
# live endpoints, and (unless probing) only those whose circuit is closed.
_TAKE_POSTGRESQL = text(
    f"""
UPDATE deliveries SET lease_token = :token, lease_until = :until
FROM (
    SELECT candidate.id
    FROM unnest(CAST(:endpoints AS text[]), CAST(:counts AS int[])) AS lane(endpoint_id, n)
    JOIN endpoints AS e ON e.id = lane.endpoint_id
         AND NOT e.paused AND NOT e.disabled
         AND (CAST(:probing AS boolean) OR e.consecutive_failures < :threshold)
    CROSS JOIN LATERAL (
        SELECT d.id FROM deliveries AS d
        WHERE d.endpoint_id = lane.endpoint_id
          AND d.next_attempt_at <= :now
          AND (d.lease_until IS NULL OR d.lease_until < :now)
        ORDER BY d.next_attempt_at
        LIMIT lane.n
        FOR UPDATE OF d SKIP LOCKED
    ) AS candidate
) AS picked
WHERE deliveries.id = picked.id
RETURNING {", ".join(f"deliveries.{column.name}" for column in _DELIVERIES.c)}
"""  # noqa: S608 (the columns are the model's: nothing from outside)
).columns(*_DELIVERIES.c)
_CLAIM_POSTGRESQL = _with_context(
    aliased(Delivery, _TAKE_POSTGRESQL.cte("claimed"), name="Delivery")
)
# SQLite (one writer at a time): lane by lane, then the context of what was taken.
_TAKE_SQLITE = (
    update(_DELIVERIES)
    .where(
        _DELIVERIES.c.id.in_(
            select(_DELIVERIES.c.id)
            .where(
                _DELIVERIES.c.endpoint_id == bindparam("endpoint"),
                _DELIVERIES.c.next_attempt_at <= bindparam("now"),
                or_(
                    _DELIVERIES.c.lease_until.is_(None),
                    _DELIVERIES.c.lease_until < bindparam("now"),
                ),
            )
            .order_by(_DELIVERIES.c.next_attempt_at)
            .limit(bindparam("n"))
            .scalar_subquery()
        )
    )
    .values(lease_token=bindparam("token"), lease_until=bindparam("until"))
    .returning(_DELIVERIES.c.id)
)
_LOAD = _with_context(Delivery).where(one_of(Delivery.id, "b_ids"))


async def claim_grants(
    session: AsyncSession,
    settings: Settings,
    keys: SigningKeyCache,
    grants: Sequence[Grant],
    now: datetime,
    lease: Lease | None = None,
) -> list[Outcome]:
    """Lease what ``grants`` allow (under ``lease``, by default a new one) and settle
    every grant; one outcome per grant, in order. Grants of one endpoint are claimed
    together, the earlier filled first."""
    wanted: dict[str, int] = defaultdict(int)
    for grant in grants:
        wanted[grant.endpoint_id] += grant.count
    lease = lease or new_lease(settings, now)
    rows = await take(session, settings, wanted, now, lease, probing=False)
    empty = [endpoint for endpoint in wanted if endpoint not in rows]
    verdicts = await _why_empty(session, settings, empty, now) if empty else {}
    probes = {endpoint: 1 for endpoint, verdict in verdicts.items() if verdict[0] == "probe"}
    if probes:
        rows.update(await take(session, settings, probes, now, lease, probing=True))
    endpoints = {leased.endpoint.id: leased.endpoint for lane in rows.values() for leased in lane}
    key_map = await keys.keys_for(session, endpoints.values(), now)
    unclaimed = {endpoint: iter(rows.get(endpoint, [])) for endpoint in wanted}
    outcomes: list[Outcome] = []
    for grant in grants:
        mine = list(islice(unclaimed[grant.endpoint_id], grant.count))
        claimed = [
            Claimed(
                *row,
                keys=key_map.get(grant.endpoint_id, []),
                lease_token=lease.token,
                lease_until=lease.until,
                not_before_us=grant.slot_us(index) if grant.rate else None,
            )
            for index, row in enumerate(mine)
        ]
        verdict = verdicts.get(grant.endpoint_id)
        outcomes.append((claimed, _settlement(grant, len(mine), verdict)))
    return outcomes


def _settlement(grant: Grant, used: int, verdict: tuple[str, int] | None) -> Settlement:
    if verdict is None:
        return Settlement(grant, used, "more" if used == grant.count else "dry")
    kind, gate_us = verdict
    if kind in ("gate", "probe"):
        return Settlement(grant, used, "gate", gate_us)
    return Settlement(grant, used, "park" if kind == "park" else "dry")


async def take(
    session: AsyncSession,
    settings: Settings,
    lanes: Mapping[str, int],
    now: datetime,
    lease: Lease,
    *,
    probing: bool,
) -> dict[str, list[Leased]]:
    """Lease up to ``lanes[endpoint]`` claimable deliveries of each endpoint; they are
    returned by endpoint, oldest due first. ``probing`` takes them whatever the circuit."""
    token, until = lease
    if session.get_bind().dialect.name == "postgresql":
        params = {
            "endpoints": list(lanes),
            "counts": list(lanes.values()),
            "now": now,
            "token": token,
            "until": until,
            "probing": probing,
            "threshold": settings.circuit_failure_threshold,
        }
        return _by_endpoint(_leased((await session.execute(_CLAIM_POSTGRESQL, params)).all()))
    live = await _live_endpoints(session, settings, list(lanes), probing)
    ids: list[str] = []
    for endpoint, count in lanes.items():
        if endpoint in live:
            params = {"endpoint": endpoint, "n": count, "now": now, "token": token, "until": until}
            ids += (await session.execute(_TAKE_SQLITE, params)).scalars().all()
    return _by_endpoint(await load_leased(session, ids)) if ids else {}


async def load_leased(session: AsyncSession, delivery_ids: Sequence[str]) -> list[Leased]:
    """The deliveries of ``delivery_ids`` with their context, as a claim loads them (no
    lease taken)."""
    return _leased((await session.execute(_LOAD, {"b_ids": list(delivery_ids)})).all())


async def _live_endpoints(
    session: AsyncSession, settings: Settings, endpoint_ids: list[str], probing: bool
) -> set[str]:
    stmt = select(Endpoint.id).where(
        Endpoint.id.in_(endpoint_ids), Endpoint.paused.is_(False), Endpoint.disabled.is_(False)
    )
    if not probing:
        stmt = stmt.where(Endpoint.consecutive_failures < settings.circuit_failure_threshold)
    return set((await session.scalars(stmt)).all())


async def _why_empty(
    session: AsyncSession, settings: Settings, endpoint_ids: list[str], now: datetime
) -> dict[str, tuple[str, int]]:
    """Why each lane gave nothing: ``park``, ``gate`` (until µs), ``probe`` (this worker
    probes; the lane is gated until the cool-down ends) or ``dry``."""
    found = {
        endpoint.id: endpoint
        for endpoint in await session.scalars(select(Endpoint).where(Endpoint.id.in_(endpoint_ids)))
    }
    cooldown = timedelta(seconds=settings.circuit_cooldown_s)
    verdicts: dict[str, tuple[str, int]] = {}
    for endpoint_id in endpoint_ids:
        endpoint = found.get(endpoint_id)
        if endpoint is None or endpoint.paused or endpoint.disabled:
            verdicts[endpoint_id] = ("park", 0)
            continue
        state = circuit_state(endpoint, now, settings.circuit_failure_threshold)
        if state == "closed":
            verdicts[endpoint_id] = ("dry", 0)
        elif state == "open" or not await _take_probe(session, endpoint_id, now, cooldown):
            until = endpoint.circuit_open_until if state == "open" else now + cooldown
            verdicts[endpoint_id] = ("gate", to_us(until or now + cooldown))
        else:
            verdicts[endpoint_id] = ("probe", to_us(now + cooldown))
    return verdicts


async def _take_probe(
    session: AsyncSession, endpoint_id: str, now: datetime, cooldown: timedelta
) -> bool:
    """Whether this worker may probe the endpoint: it pushed the cool-down forward first."""
    taken = await session.scalar(
        update(Endpoint)
        .where(
            Endpoint.id == endpoint_id,
            or_(Endpoint.circuit_open_until.is_(None), Endpoint.circuit_open_until <= now),
        )
        .values(circuit_open_until=now + cooldown)
        .returning(Endpoint.id)
    )
    return taken is not None


def _by_endpoint(rows: Sequence[Leased]) -> dict[str, list[Leased]]:
    grouped: dict[str, list[Leased]] = defaultdict(list)
    for row in rows:
        grouped[row.delivery.endpoint_id].append(row)
    return dict(grouped)


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
