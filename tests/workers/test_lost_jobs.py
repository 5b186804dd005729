"""Nothing published is lost when its job is: the scheduler re-leases lapsed deliveries."""

import asyncio

import httpx

from app.config import Settings
from app.db.session import Database
from tests.receivers import Receiver
from workers.scheduler import run_scheduler
from workers.stack import WorkerStack


async def test_crash_between_commit_and_enqueue_is_still_delivered(
    api: httpx.AsyncClient, settings: Settings, worker_stack: WorkerStack, receiver: Receiver
) -> None:
    # Given an API whose jobs never reach the queue (the default test sender discards
    # them: the same as a process dying right after the commit)
    await api.post("/api/v1/tenants", json={"uid": "acme", "name": "Acme"})
    await api.post("/api/v1/tenants/acme/endpoints", json={"url": receiver.url("/hook")})
    reply = await api.post(
        "/api/v1/tenants/acme/messages", json={"event_type": "a.b", "payload": {"n": 1}}
    )
    assert reply.status_code == 202
    await asyncio.sleep(0.3)
    assert receiver.requests_to("/hook") == []

    # When a scheduler runs against the real queue
    database = Database(settings.database_url, sender=worker_stack.sender)
    stop = asyncio.Event()
    scheduler = asyncio.create_task(run_scheduler(database, settings, stop))
    try:
        # Then, once the publish lease lapses (requeue_after_s), the message is delivered once
        [request] = await receiver.wait_for_async(1, timeout_s=settings.requeue_after_s + 5)
        assert request.headers["webhook-id"] == reply.json()["id"]
        await asyncio.sleep(settings.requeue_after_s + 0.5)
        assert len(receiver.requests_to("/hook")) == 1
    finally:
        stop.set()
        await asyncio.wait_for(scheduler, timeout=10)
        await database.dispose()
