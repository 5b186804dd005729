"""A failing endpoint's circuit opens: its deliveries wait out the cool-down unattempted."""

import asyncio
import time

import httpx
import pytest

from app.config import Settings
from app.outbox import Sender
from tests.conftest import wait_until
from tests.receivers import Receiver, Reply
from workers.stack import WorkerStack

COOLDOWN_S = 2.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_changes(
        circuit_failure_threshold=2, circuit_cooldown_s=COOLDOWN_S, retry_schedule_s=(0, 1, 1, 1, 1)
    )


@pytest.fixture
def job_sender(worker_stack: WorkerStack) -> Sender:
    return worker_stack.sender


async def test_open_circuit_defers_then_probes(
    api: httpx.AsyncClient, receiver: Receiver, scheduler: None
) -> None:
    # Given an endpoint that always fails
    receiver.script("/down", then=Reply(500))
    await api.post("/api/v1/tenants", json={"uid": "t", "name": "T"})
    endpoint = (
        await api.post("/api/v1/tenants/t/endpoints", json={"url": receiver.url("/down")})
    ).json()

    # When two messages fail once each (two failures in a row open the circuit)
    for _ in range(2):
        await api.post("/api/v1/tenants/t/messages", json={"event_type": "a", "payload": {}})
    await receiver.wait_for_async(2, path="/down")

    async def circuit_open() -> bool:
        reply = await api.get(f"/api/v1/tenants/t/endpoints/{endpoint['id']}")
        return bool(reply.json()["status"] == "failing")

    await wait_until(circuit_open)
    opened = time.monotonic()
    await asyncio.sleep(COOLDOWN_S - 0.6)

    # Then no retry was sent during the cool-down, though both were due after 1 s
    assert len(receiver.requests_to("/down")) == 2
    # And after it, the endpoint is probed again
    await receiver.wait_for_async(3, timeout_s=COOLDOWN_S + 3, path="/down")
    third = receiver.requests_to("/down")[2]
    assert third.received_monotonic - opened >= COOLDOWN_S - 0.7
