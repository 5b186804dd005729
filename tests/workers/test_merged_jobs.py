"""Concurrent jobs of a worker claim and record together (app.delivery.dispatch), and
a delivery that two of them carry is still sent once; on SQLite and on PostgreSQL (where
the claim is one statement)."""

import asyncio

import httpx
import pytest
from sqlalchemy import select

from app.config import Settings
from app.db.models import Attempt, Delivery
from app.db.session import Database, DiscardingSender
from app.delivery.dispatch import attempt_deliveries
from app.secretbox import secret_box_for
from tests.receivers import Receiver
from workers.runtime import WorkerRuntime


@pytest.fixture
def database_url(sqlite_or_postgresql_url: str) -> str:
    return sqlite_or_postgresql_url


async def leases_of(database: Database) -> dict[str, str]:
    async with database.session() as session:
        rows = await session.execute(select(Delivery.id, Delivery.lease_token))
        return {delivery_id: str(token) for delivery_id, token in rows}


async def test_concurrent_jobs_share_transactions_and_send_each_delivery_once(
    api: httpx.AsyncClient, settings: Settings, database: Database, receiver: Receiver
) -> None:
    # Given 12 published messages whose jobs were lost (the test API discards them)
    await api.post("/api/v1/tenants", json={"uid": "acme", "name": "Acme"})
    await api.post("/api/v1/tenants/acme/endpoints", json={"url": receiver.url("/hook")})
    for n in range(12):
        reply = await api.post(
            "/api/v1/tenants/acme/messages", json={"event_type": "a.b", "payload": {"n": n}}
        )
        assert reply.status_code == 202
    leases = await leases_of(database)
    ids = sorted(leases)
    box = secret_box_for(settings)
    assert box is not None
    runtime = WorkerRuntime(settings, DiscardingSender(), box)
    ctx = await runtime.delivery_context()
    try:
        # When six jobs run at once, each carrying three deliveries, every delivery in two
        jobs = [
            {i: leases[i] for i in (ids[k], ids[k + 1], ids[(k + 2) % 12])} for k in range(0, 12, 2)
        ]
        await asyncio.gather(*(attempt_deliveries(ctx, job) for job in jobs))
    finally:
        await runtime.close()
    # Then each message reached the receiver once, and each delivery has one attempt
    ids_seen = [request.headers["webhook-id"] for request in receiver.requests_to("/hook")]
    assert len(ids_seen) == len(set(ids_seen)) == 12
    async with database.session() as session:
        attempts = (await session.scalars(select(Attempt.delivery_id))).all()
        statuses = set((await session.scalars(select(Delivery.status))).all())
    assert sorted(attempts) == ids
    assert statuses == {"succeeded"}
