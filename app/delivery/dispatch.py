"""Attempting deliveries: claim, sign and send concurrently, record in bulk.

One job carries many deliveries. The worker claims them (only those still under the
job's lease token, and due), sends them concurrently on the event loop, then writes every
attempt and every delivery's next state in one transaction. A crash anywhere leaves the
deliveries due with an expiring lease, which the scheduler re-enqueues.
"""

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import aiohttp
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import __version__
from app.config import Settings
from app.db.base import utcnow
from app.db.models import Delivery, Endpoint, Message, Project
from app.db.session import Database, commit
from app.delivery.client import AttemptResult, post_webhook
from app.delivery.jobs import new_lease_token
from app.delivery.recording import Outcomes, record_attempts
from app.delivery.signing import SigningKey, sign
from app.delivery.ssrf import NetworkPolicy
from app.endpoints.secrets import signing_keys
from app.secretbox import SecretBox


@dataclass
class DeliveryContext:
    """What a worker process needs to attempt deliveries; built once per event loop."""

    settings: Settings
    database: Database
    http: aiohttp.ClientSession
    policy: NetworkPolicy
    box: SecretBox
    rng: random.Random = field(default_factory=random.Random)


@dataclass(frozen=True)
class ClaimedDelivery:
    delivery: Delivery
    message: Message
    endpoint: Endpoint
    project: Project
    keys: Sequence[SigningKey]


async def attempt_deliveries(
    ctx: DeliveryContext, token: str, delivery_ids: Sequence[str]
) -> Outcomes:
    """Attempt the deliveries this job still holds; return what happened."""
    async with ctx.database.session() as session:
        claimed = await claim(session, ctx, token, delivery_ids)
        await commit(session)
    if not claimed:
        return Outcomes()
    results = await asyncio.gather(*(send(ctx, item) for item in claimed))
    async with ctx.database.session() as session:
        outcomes = await record_attempts(session, ctx.settings, claimed, results, ctx.rng)
        await commit(session)
    return outcomes


async def claim(
    session: AsyncSession, ctx: DeliveryContext, token: str, delivery_ids: Sequence[str]
) -> list[ClaimedDelivery]:
    """Take the lease of each due delivery still under ``token`` (or with a lapsed lease)."""
    now = utcnow()
    lease_token = new_lease_token()
    lease_until = now + timedelta(seconds=ctx.settings.request_timeout_s + 30)
    claimed_ids = (
        (
            await session.execute(
                update(Delivery)
                .where(
                    Delivery.id.in_(delivery_ids),
                    Delivery.next_attempt_at <= now,
                    or_(
                        Delivery.lease_token == token,
                        Delivery.lease_until.is_(None),
                        Delivery.lease_until < now,
                    ),
                )
                .values(lease_token=lease_token, lease_until=lease_until)
                .returning(Delivery.id)
                .execution_options(synchronize_session=False)
            )
        )
        .scalars()
        .all()
    )
    if not claimed_ids:
        return []
    rows = (
        await session.execute(
            select(Delivery, Message, Endpoint, Project)
            .join(Message, Message.id == Delivery.message_id)
            .join(Endpoint, Endpoint.id == Delivery.endpoint_id)
            .join(Project, Project.id == Delivery.project_id)
            .where(Delivery.id.in_(claimed_ids))
        )
    ).all()
    held = [row for row in rows if row.Endpoint.paused or row.Endpoint.disabled]
    if held:
        # Paused or disabled: stay due, without a lease, until the endpoint is back.
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_([row.Delivery.id for row in held]))
            .values(lease_token=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
    live = [row for row in rows if not (row.Endpoint.paused or row.Endpoint.disabled)]
    keys = await signing_keys(session, ctx.box, list({row.Endpoint.id for row in live}), now)
    return [
        ClaimedDelivery(
            row.Delivery, row.Message, row.Endpoint, row.Project, keys.get(row.Endpoint.id, [])
        )
        for row in live
    ]


async def send(ctx: DeliveryContext, item: ClaimedDelivery) -> AttemptResult:
    """One signed POST of the stored payload bytes to the endpoint."""
    timestamp = int(time.time())
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
    return await post_webhook(
        ctx.http,
        item.endpoint.url,
        message.payload,
        headers,
        ctx.settings.request_timeout_s,
        ctx.policy,
    )
