"""Attempting deliveries: claim, sign and send concurrently, record in bulk.

One job carries many deliveries. The worker claims them (only those still under the
job's lease token, and due), sends them concurrently on the event loop, then writes every
attempt and every delivery's next state in one transaction. A crash anywhere leaves the
deliveries due with an expiring lease, which the scheduler re-enqueues.

Before a delivery is sent it may be held back, never failed: by its endpoint's circuit
breaker (open after a run of failures, then one probe), by the cap on requests in flight
to one endpoint, or by the endpoint's rate limit. Held-back deliveries are deferred.
"""

import asyncio
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial

import aiohttp
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import __version__
from app.batching import Batcher
from app.config import Settings
from app.db.base import utcnow
from app.db.models import Delivery, Endpoint, Project, Tenant
from app.db.session import Database, commit
from app.delivery.client import AttemptResult, post_webhook
from app.delivery.gates import InFlight, circuit_state
from app.delivery.jobs import new_lease_token
from app.delivery.keycache import SigningKeyCache
from app.delivery.leases import Leased, LeasedDelivery, MessageToSend, take_leases
from app.delivery.ratelimit import RateLimiter
from app.delivery.recording import record_attempts, record_deferrals
from app.delivery.signing import SigningKey, sign
from app.delivery.ssrf import NetworkPolicy
from app.operational.events import announce
from app.secretbox import SecretBox

# How long a delivery waits for one of its endpoint's in-flight slots before it is deferred.
IN_FLIGHT_WAIT_S = 2.0


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    delivery: LeasedDelivery
    message: MessageToSend
    endpoint: Endpoint
    project: Project
    tenant: Tenant
    keys: Sequence[SigningKey]


@dataclass(frozen=True)
class Claim:
    lease_token: str  # the worker's lease on every claimed delivery
    ready: list[ClaimedDelivery]
    deferred: dict[str, datetime]  # delivery id → when to try again


@dataclass(frozen=True)
class Report:
    """What one job's attempts did, for recording."""

    lease_token: str
    sent: list[tuple[ClaimedDelivery, AttemptResult]]
    deferred: dict[str, datetime]

    def leases(self) -> dict[str, str]:
        """Delivery id → the lease token the job held it under."""
        ids = [item.delivery.id for item, _ in self.sent] + list(self.deferred)
        return dict.fromkeys(ids, self.lease_token)


@dataclass
class DeliveryContext:
    """What a worker process needs to attempt deliveries; built once per event loop.

    Concurrent jobs of the process claim together and record together, in group commits
    (``app.batching``): under load a transaction serves many jobs, not one.
    """

    settings: Settings
    database: Database
    http: aiohttp.ClientSession
    policy: NetworkPolicy
    box: SecretBox
    limiter: RateLimiter
    in_flight: InFlight
    keys: SigningKeyCache
    rng: random.Random = field(default_factory=random.Random)
    claims: Batcher[Mapping[str, str], Claim] = field(init=False)
    reports: Batcher[Report, None] = field(init=False)

    def __post_init__(self) -> None:
        self.claims = Batcher("claim", partial(_claim_batch, self))
        self.reports = Batcher("record", partial(_record_batch, self))

    async def close(self) -> None:
        await self.claims.close()
        await self.reports.close()


async def attempt_deliveries(ctx: DeliveryContext, leases: Mapping[str, str]) -> None:
    """Attempt the deliveries of ``leases`` (id → token) this job still holds."""
    claim = await ctx.claims.submit(leases)
    if not claim.ready and not claim.deferred:
        return
    tries = await asyncio.gather(*(attempt(ctx, item) for item in claim.ready))
    sent = [
        (item, result)
        for item, result in zip(claim.ready, tries, strict=True)
        if isinstance(result, AttemptResult)
    ]
    deferred = dict(claim.deferred)
    deferred.update(
        (item.delivery.id, until)
        for item, until in zip(claim.ready, tries, strict=True)
        if isinstance(until, datetime)
    )
    await ctx.reports.submit(Report(claim.lease_token, sent, deferred))


async def _claim_batch(ctx: DeliveryContext, jobs: list[Mapping[str, str]]) -> list[Claim]:
    """Claim for concurrent jobs in one transaction. A delivery listed by two jobs goes
    to the first alone, so it is sent once."""
    owner: dict[str, int] = {}
    for index, job in enumerate(jobs):
        for delivery_id in job:
            owner.setdefault(delivery_id, index)
    tokens = {token for job in jobs for token in job.values()}
    # On PostgreSQL the lease is taken by one statement, atomic on its own, and what may
    # follow (releasing held deliveries, taking a probe, reading keys) needs no
    # transaction with it: autocommit saves the BEGIN and COMMIT round trips.
    async with ctx.database.session(autocommit=ctx.database.is_postgresql) as session:
        claim = await claim_deliveries(session, ctx, list(owner), tokens)
        await commit(session)
    parts = [Claim(claim.lease_token, [], {}) for _ in jobs]
    for item in claim.ready:
        parts[owner[item.delivery.id]].ready.append(item)
    for delivery_id, until in claim.deferred.items():
        parts[owner[delivery_id]].deferred[delivery_id] = until
    return parts


async def _record_batch(ctx: DeliveryContext, reports: list[Report]) -> list[None]:
    """Record what concurrent jobs did in one transaction."""
    sent = [pair for report in reports for pair in report.sent]
    deferred = {k: v for report in reports for k, v in report.deferred.items()}
    leases = {k: v for report in reports for k, v in report.leases().items()}
    async with ctx.database.session() as session:
        outcomes = await record_attempts(session, ctx.settings, sent, ctx.rng, leases)
        await record_deferrals(session, deferred, leases)
        await announce(session, ctx.settings, outcomes.events)
        await commit(session)
    return [None] * len(reports)


async def claim_deliveries(
    session: AsyncSession,
    ctx: DeliveryContext,
    delivery_ids: Sequence[str],
    tokens: Collection[str],
) -> Claim:
    """Take the lease of each due delivery of ``delivery_ids`` still under one of the ``tokens``
    its jobs were sent with, or with a lapsed lease. Tokens are random per enqueue, so a
    delivery matching one was enqueued under it."""
    now = utcnow()
    lease_token = new_lease_token()
    lease_until = now + timedelta(seconds=ctx.settings.request_timeout_s * 2 + 5)
    rows = await take_leases(session, delivery_ids, tokens, now, lease_token, lease_until)
    held = [row.delivery.id for row in rows if row.endpoint.paused or row.endpoint.disabled]
    if held:
        # Paused or disabled: stay due, without a lease, until the endpoint is back.
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(held))
            .values(lease_token=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
    live = [row for row in rows if not (row.endpoint.paused or row.endpoint.disabled)]
    ready, deferred = await _through_circuit_breakers(session, ctx.settings, live, now)
    keys = await ctx.keys.keys_for(session, (row.endpoint for row in ready), now)
    return Claim(
        lease_token,
        [ClaimedDelivery(*row, keys=keys.get(row.endpoint.id, [])) for row in ready],
        deferred,
    )


async def _through_circuit_breakers(
    session: AsyncSession, settings: Settings, rows: Sequence[Leased], now: datetime
) -> tuple[list[Leased], dict[str, datetime]]:
    """Split claimed rows into those that may be sent and those deferred by an open circuit.

    After the cool-down one delivery per endpoint probes it; the probe is taken by
    pushing the cool-down forward atomically, so concurrent workers send only one.
    """
    ready: list[Leased] = []
    deferred: dict[str, datetime] = {}
    probing: set[str] = set()
    cooldown = timedelta(seconds=settings.circuit_cooldown_s)
    for row in rows:
        endpoint = row.endpoint
        state = circuit_state(endpoint, now, settings.circuit_failure_threshold)
        if state == "probe" and endpoint.id not in probing:
            taken = await session.scalar(
                update(Endpoint)
                .where(
                    Endpoint.id == endpoint.id,
                    or_(Endpoint.circuit_open_until.is_(None), Endpoint.circuit_open_until <= now),
                )
                .values(circuit_open_until=now + cooldown)
                .returning(Endpoint.id)
            )
            if taken is not None:
                probing.add(endpoint.id)
                ready.append(row)
                continue
        if state == "closed":
            ready.append(row)
        else:
            deferred[row.delivery.id] = endpoint.circuit_open_until or now + cooldown
    return ready, deferred


async def attempt(ctx: DeliveryContext, item: ClaimedDelivery) -> AttemptResult | datetime:
    """Send ``item`` now, or return when to try it again if its endpoint must wait."""
    endpoint = item.endpoint
    wait_s = min(ctx.settings.request_timeout_s, IN_FLIGHT_WAIT_S)
    if not await ctx.in_flight.acquire(endpoint.id, wait_s):
        return utcnow() + timedelta(seconds=wait_s * ctx.rng.uniform(1.0, 2.0))
    try:
        if endpoint.rate_limit:
            wait_s = await ctx.limiter.reserve(
                endpoint.id, endpoint.rate_limit, ctx.settings.rate_limit_max_wait_s
            )
            if wait_s < 0:
                return utcnow() + timedelta(seconds=-wait_s)
            if wait_s > 0:
                await asyncio.sleep(wait_s)
        return await send(ctx, item)
    finally:
        ctx.in_flight.release(endpoint.id)


async def send(ctx: DeliveryContext, item: ClaimedDelivery) -> AttemptResult:
    """One signed POST of the stored payload bytes to the endpoint."""
    started_at = utcnow()
    timestamp = int(started_at.timestamp())
    message = item.message
    headers = {
        **item.endpoint.headers,
        **(message.headers or {}),
        "content-type": "application/json",
        "user-agent": f"Herald/{__version__}",
        "webhook-id": message.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(message.id, timestamp, message.payload, item.keys),
    }
    result = await post_webhook(
        ctx.http,
        item.endpoint.url,
        message.payload,
        headers,
        ctx.settings.request_timeout_s,
        ctx.policy,
    )
    return replace(result, started_at=started_at)
