"""Nothing published is lost when its lane's wake-up is: the scheduler's next pass finds
the due deliveries and wakes their lanes."""

import asyncio

import httpx

from app.config import Settings
from app.db.session import Database
from tests.receivers import Receiver
from workers.scheduler import run_scheduler
from workers.stack import WorkerStack


async def test_a_wake_up_lost_after_the_commit_is_made_good_by_the_scheduler(
    api: httpx.AsyncClient, settings: Settings, worker_stack: WorkerStack, receiver: Receiver
) -> None:
    # Given an API whose wake-ups never reach the lanes (the default test sender discards
    # them: the same as a process dying right after the commit)
    await api.post("/api/v1/tenants", json={"uid": "acme", "name": "Acme"})
    await api.post("/api/v1/tenants/acme/endpoints", json={"url": receiver.url("/hook")})
    reply = await api.post(
        "/api/v1/tenants/acme/messages", json={"event_type": "a.b", "payload": {"n": 1}}
    )
    assert reply.status_code == 202
    await asyncio.sleep(0.5)
    assert receiver.requests_to("/hook") == []

    # When a scheduler runs against the real lanes
    database = Database(settings.database_url, sender=worker_stack.sender)
    stop = asyncio.Event()
    scheduler = asyncio.create_task(run_scheduler(database, settings, stop))
    try:
        # Then its first passes deliver the message, once
        [request] = await receiver.wait_for_async(1, timeout_s=settings.scheduler_interval_s + 5)
        assert request.headers["webhook-id"] == reply.json()["id"]
        await asyncio.sleep(settings.scheduler_interval_s * 10 + 0.5)
        assert len(receiver.requests_to("/hook")) == 1
    finally:
        stop.set()
        await asyncio.wait_for(scheduler, timeout=10)
        await database.dispose()
