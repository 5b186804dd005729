"""An attempt the SSRF guard refuses, seen from outside: recorded, never sent, and its error
names the range and never the address the endpoint's name resolved to."""

from collections.abc import Iterator

import dramatiq
import httpx
import pytest

from app.config import Settings
from app.outbox import Sender
from tests.conftest import wait_until
from tests.e2e.test_delivery_flow import attempts, make_endpoint, publish
from tests.receivers import Receiver
from workers.stack import WorkerStack, build_worker_stack


@pytest.fixture
def worker_stack(settings: Settings) -> Iterator[WorkerStack]:
    """A worker under the production policy, while the API (the tests' settings) still
    accepts loopback URLs: as if a name that passed creation now resolves inside."""
    stack = build_worker_stack(settings.with_changes(allowed_private_networks=()))
    worker = dramatiq.Worker(stack.broker, worker_threads=4, worker_timeout=50)
    worker.start()
    yield stack
    worker.stop(timeout=10_000)


@pytest.fixture
def job_sender(worker_stack: WorkerStack) -> Sender:
    return worker_stack.sender


async def test_a_refused_attempt_names_the_range_not_the_address(
    api: httpx.AsyncClient, receiver: Receiver, scheduler: None
) -> None:
    # Given an endpoint whose name (localhost, from /etc/hosts) resolves to loopback
    await api.post("/api/v1/tenants", json={"uid": "t1", "name": "T1"})
    await make_endpoint(api, "t1", f"http://localhost:{receiver.port}/hook")

    # When a message is published and the worker attempts it
    message = await publish(api, "t1")

    async def attempted() -> bool:
        return bool(await attempts(api, "t1", message["id"]))

    await wait_until(attempted, timeout_s=20)

    # Then the attempt is blocked, and its error names the host and the range only
    first = (await attempts(api, "t1", message["id"]))[-1]
    assert first["error_kind"] == "blocked", first
    assert first["error"] == "localhost resolves to an address in a forbidden network (loopback)"
    assert receiver.requests == []
