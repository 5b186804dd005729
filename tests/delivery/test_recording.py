"""Recording attempts (app.delivery.recording) when attempts of one delivery overlap."""

import random

import httpx
from sqlalchemy import select

from app.config import Settings
from app.db.models import Attempt, Delivery, Endpoint, Message, Project, Tenant
from app.db.session import Database, commit
from app.delivery.client import AttemptResult
from app.delivery.dispatch import ClaimedDelivery
from app.delivery.recording import record_attempts

FAILED = AttemptResult(
    ok=False,
    status_code=500,
    body="",
    duration_ms=3,
    error_kind="http_status",
    error="HTTP 500",
    retry_after_s=None,
)


async def test_overlapping_attempts_are_both_counted(
    api: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    # Given a published message's delivery, loaded twice before either attempt is
    # recorded (an attempt in flight, and a resend of it in flight too)
    await api.post("/api/v1/tenants", json={"uid": "acme", "name": "Acme"})
    await api.post("/api/v1/tenants/acme/endpoints", json={"url": "http://127.0.0.1:9/"})
    reply = await api.post(
        "/api/v1/tenants/acme/messages", json={"event_type": "a.b", "payload": {}}
    )
    assert reply.status_code == 202

    async def claimed() -> tuple[ClaimedDelivery, str]:
        async with database.session() as session:
            delivery = await session.scalar(select(Delivery))
            assert delivery is not None
            item = ClaimedDelivery(
                delivery,
                await session.get_one(Message, delivery.message_id),
                await session.get_one(Endpoint, delivery.endpoint_id),
                await session.get_one(Project, delivery.project_id),
                await session.get_one(Tenant, delivery.tenant_id),
                keys=[],
            )
            return item, str(delivery.lease_token)

    first, token = await claimed()
    second, _ = await claimed()
    # When both attempts fail and are recorded one after the other
    for item in (first, second):
        async with database.session() as session:
            await record_attempts(
                session, settings, [(item, FAILED)], random.Random(1), {item.delivery.id: token}
            )
            await commit(session)
    # Then the delivery counts two attempts, as its log shows
    async with database.session() as session:
        delivery = await session.scalar(select(Delivery))
        attempts = (await session.scalars(select(Attempt))).all()
    assert delivery is not None and delivery.attempt_count == 2 == len(attempts)
    assert delivery.status == "failed"
