"""Paused endpoints hold their deliveries until resumed; long-failing ones get disabled."""

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from app.db.base import utcnow
from app.db.models import Endpoint
from app.db.session import Database, commit
from app.outbox import Sender
from tests.conftest import wait_until
from tests.receivers import Receiver, Reply
from workers.stack import WorkerStack


@pytest.fixture
def job_sender(worker_stack: WorkerStack) -> Sender:
    return worker_stack.sender


async def test_paused_endpoint_holds_deliveries_until_resumed(
    api: httpx.AsyncClient, receiver: Receiver, scheduler: None
) -> None:
    # Given a paused endpoint
    await api.post("/api/v1/tenants", json={"uid": "t", "name": "T"})
    endpoint = (
        await api.post("/api/v1/tenants/t/endpoints", json={"url": receiver.url("/held")})
    ).json()
    await api.patch(f"/api/v1/tenants/t/endpoints/{endpoint['id']}", json={"paused": True})

    # When three messages are published while it is paused
    for n in range(3):
        reply = await api.post(
            "/api/v1/tenants/t/messages", json={"event_type": "a", "payload": {"n": n}}
        )
        assert reply.status_code == 202
    await asyncio.sleep(1.0)

    # Then nothing is sent, and each delivery waits as pending
    assert receiver.requests_to("/held") == []
    messages = (await api.get("/api/v1/tenants/t/messages")).json()["data"]
    for message in messages:
        rows = (await api.get(f"/api/v1/tenants/t/messages/{message['id']}/deliveries")).json()
        assert [row["status"] for row in rows["data"]] == ["pending"]

    # And once resumed, all three go out
    await api.patch(f"/api/v1/tenants/t/endpoints/{endpoint['id']}", json={"paused": False})
    received = await receiver.wait_for_async(3, timeout_s=10, path="/held")
    assert sorted(r.body for r in received) == [b'{"n":0}', b'{"n":1}', b'{"n":2}']


async def test_endpoint_failing_for_the_disable_window_is_disabled(
    api: httpx.AsyncClient, receiver: Receiver, scheduler: None, database: Database
) -> None:
    # Given an endpoint that has been failing for longer than the project's disable-after
    receiver.script("/dying", then=Reply(503))
    await api.post("/api/v1/tenants", json={"uid": "t", "name": "T"})
    endpoint = (
        await api.post("/api/v1/tenants/t/endpoints", json={"url": receiver.url("/dying")})
    ).json()
    project = (await api.get("/api/v1/project")).json()
    async with database.session() as session:
        await session.execute(
            update(Endpoint)
            .where(Endpoint.id == endpoint["id"])
            .values(
                failing_since=utcnow() - timedelta(seconds=project["disable_after_seconds"] + 60),
                consecutive_failures=1,
            )
        )
        await commit(session)

    # When one more attempt fails
    await api.post("/api/v1/tenants/t/messages", json={"event_type": "a", "payload": {}})

    # Then the endpoint is disabled with the reason, and gets no new deliveries
    async def disabled() -> bool:
        state = (await api.get(f"/api/v1/tenants/t/endpoints/{endpoint['id']}")).json()
        return bool(state["disabled"]) and "failed for 5 days" in state["disabled_reason"]

    await wait_until(disabled)
    await api.post("/api/v1/tenants/t/messages", json={"event_type": "a", "payload": {}})
    await asyncio.sleep(0.5)
    assert len(receiver.requests_to("/dying")) == 1
