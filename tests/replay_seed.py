"""Deliveries in a chosen state, written straight to the database (fast, for replay tests).

Tenants and endpoints come from the API (so endpoints have real secrets); the messages
and deliveries are inserted in bulk with the status, time and event type a test needs.
"""

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert, select

from app.db.base import utcnow
from app.db.models import Delivery, Message
from app.db.session import Database, commit
from app.ids import new_id


async def make_tenant_endpoint(
    api: httpx.AsyncClient, uid: str, url: str = "https://example.com/hook", **fields: Any
) -> tuple[str, str]:
    """(tenant id, endpoint id) of a new tenant ``uid`` with one endpoint."""
    tenant = await api.post("/api/v1/tenants", json={"uid": uid, "name": uid.title()})
    assert tenant.status_code == 201, tenant.text
    endpoint = await api.post(f"/api/v1/tenants/{uid}/endpoints", json={"url": url, **fields})
    assert endpoint.status_code == 201, endpoint.text
    return tenant.json()["id"], endpoint.json()["id"]


async def seed_deliveries(
    database: Database,
    project_id: str,
    tenant_id: str,
    endpoint_id: str,
    count: int,
    *,
    status: str = "failed",
    event_type: str = "invoice.paid",
    created_at: datetime | None = None,
) -> list[str]:
    """Insert ``count`` messages with one ``status`` delivery each; return the delivery ids.

    Failed deliveries wait for a retry an hour away; exhausted ones wait for nothing.
    """
    at = created_at or utcnow() - timedelta(minutes=5)
    at_ms = int(at.timestamp() * 1000)
    messages, deliveries = [], []
    for _ in range(count):
        message_id = new_id("msg", now_ms=at_ms)
        messages.append(
            {
                "id": message_id,
                "project_id": project_id,
                "tenant_id": tenant_id,
                "event_type": event_type,
                "payload": b'{"seeded":true}',
                "created_at": at,
            }
        )
        deliveries.append(
            {
                "id": new_id("dlv", now_ms=at_ms),
                "project_id": project_id,
                "tenant_id": tenant_id,
                "message_id": message_id,
                "endpoint_id": endpoint_id,
                "status": status,
                "attempt_count": 1,
                "next_attempt_at": at + timedelta(hours=1) if status == "failed" else None,
                "next_trigger": "scheduled",
                "last_status_code": 500,
                "last_attempt_at": at,
                "created_at": at,
                "updated_at": at,
            }
        )
    async with database.session() as session:
        for start in range(0, count, 5000):
            await session.execute(insert(Message), messages[start : start + 5000])
            await session.execute(insert(Delivery), deliveries[start : start + 5000])
        await commit(session)
    return sorted(row["id"] for row in deliveries)


async def replay_requested(database: Database) -> set[str]:
    """Ids of deliveries currently due under a replay."""
    async with database.session() as session:
        rows = await session.scalars(
            select(Delivery.id).where(
                Delivery.next_trigger == "replay", Delivery.next_attempt_at.is_not(None)
            )
        )
        return set(rows.all())
