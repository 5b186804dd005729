"""The delivery pump: concurrent pops claim and record together, two pumps on the same
lanes send each delivery once, a pump never holds more than its capacity, and nothing
is sent before its rate-limit slot; on SQLite and on PostgreSQL."""

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from app.config import Settings
from app.db.base import utcnow
from app.db.models import Attempt, Delivery, Endpoint, EndpointSecret
from app.db.session import Database
from app.delivery.discovery import due_lanes
from app.delivery.keycache import SigningKeyCache
from app.delivery.lanes import LocalLanes
from app.delivery.pump import Pump
from app.outbox import DiscardingSender
from app.secretbox import secret_box_for
from tests.conftest import wait_until
from tests.receivers import Hang, Receiver
from workers.lanes import lane_limits
from workers.runtime import WorkerRuntime


@pytest.fixture
def database_url(sqlite_or_postgresql_url: str) -> str:
    return sqlite_or_postgresql_url


async def publish(api: httpx.AsyncClient, tenant: str, url: str, count: int, **endpoint: object):
    await api.post("/api/v1/tenants", json={"uid": tenant, "name": tenant})
    await api.post(f"/api/v1/tenants/{tenant}/endpoints", json={"url": url, **endpoint})
    for n in range(count):
        reply = await api.post(
            f"/api/v1/tenants/{tenant}/messages", json={"event_type": "a.b", "payload": {"n": n}}
        )
        assert reply.status_code == 202


class Pumps:
    """Pumps running on the test's loop over one ``LocalLanes``, until closed."""

    def __init__(self, settings: Settings, lanes: LocalLanes) -> None:
        self.settings, self.lanes = settings, lanes
        self.runtimes: list[WorkerRuntime] = []
        self.pumps: list[Pump] = []
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self, count: int) -> None:
        box = secret_box_for(self.settings)
        assert box is not None
        for _ in range(count):
            runtime = WorkerRuntime(self.settings, DiscardingSender(), box, lambda: self.lanes)
            pump = Pump(await runtime.delivery_context())
            self.runtimes.append(runtime)
            self.pumps.append(pump)
            self.tasks.append(asyncio.create_task(pump.run(self.stop)))

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks)
        for runtime in self.runtimes:
            await runtime.close()


@pytest.fixture
async def lanes(settings: Settings) -> LocalLanes:
    return LocalLanes(lane_limits(settings))


@pytest.fixture
async def pumps(settings: Settings, lanes: LocalLanes) -> AsyncIterator[Pumps]:
    running = Pumps(settings, lanes)
    yield running
    await running.close()


async def wake_all(database: Database, lanes: LocalLanes) -> None:
    """What the scheduler does: wake every lane with deliveries due."""
    async with database.session() as session:
        await lanes.touch(await due_lanes(session, utcnow()))


async def attempts_by_delivery(database: Database) -> Counter[str]:
    async with database.session() as session:
        return Counter((await session.scalars(select(Attempt.delivery_id))).all())


async def test_two_pumps_send_every_delivery_once(
    api: httpx.AsyncClient,
    database: Database,
    receiver: Receiver,
    lanes: LocalLanes,
    pumps: Pumps,
) -> None:
    # Given 40 messages of two tenants, whose wake-ups were lost (the test API discards them)
    await publish(api, "a", receiver.url("/a"), 25)
    await publish(api, "b", receiver.url("/b"), 15)
    # When two pumps work the same lanes and the scheduler's pass wakes them
    await pumps.start(2)
    await wake_all(database, lanes)
    await receiver.wait_for_async(40, timeout_s=20)
    await asyncio.sleep(0.5)
    # Then each message reached its receiver once, with one attempt each, all succeeded
    seen = Counter(request.headers["webhook-id"] for request in receiver.requests)
    assert len(seen) == 40 and set(seen.values()) == {1}
    assert set((await attempts_by_delivery(database)).values()) == {1}
    async with database.session() as session:
        assert set((await session.scalars(select(Delivery.status))).all()) == {"succeeded"}
    # And the pumps hold nothing any more
    assert [pump.in_hand for pump in pumps.pumps] == [0, 0]


async def test_a_pump_holds_no_more_than_its_capacity(
    api: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    receiver: Receiver,
    lanes: LocalLanes,
) -> None:
    # Given a slow receiver (it answers 503 after 0.3 s; its circuit never opens here)
    # and a pump that may hold 5 deliveries
    receiver.script("/slow", then=Hang(0.3))
    await publish(api, "a", receiver.url("/slow"), 20)
    patient = settings.with_changes(worker_concurrency=5, circuit_failure_threshold=1000)
    running = Pumps(patient, lanes)
    await running.start(1)
    try:
        await wake_all(database, lanes)
        most = 0
        for _ in range(40):
            most = max(most, running.pumps[0].in_hand)
            await asyncio.sleep(0.05)
        await receiver.wait_for_async(20, timeout_s=30, path="/slow")
    finally:
        await running.close()
    # Then it never held more than 5, and delivered everything
    assert 0 < most <= 5


async def test_no_delivery_starts_before_its_rate_limit_slot(
    api: httpx.AsyncClient,
    database: Database,
    receiver: Receiver,
    lanes: LocalLanes,
    pumps: Pumps,
) -> None:
    # Given 30 messages to an endpoint limited to 20/s
    await publish(api, "a", receiver.url("/limited"), 30, rate_limit=20)
    # When two pumps deliver them
    await pumps.start(2)
    await wake_all(database, lanes)
    await receiver.wait_for_async(30, timeout_s=20, path="/limited")

    # Then the attempts started at least a slot (50 ms) apart, less a scheduler's jitter
    async def recorded() -> bool:
        return sum((await attempts_by_delivery(database)).values()) == 30

    await wait_until(recorded)
    async with database.session() as session:
        starts = sorted((await session.scalars(select(Attempt.created_at))).all())
    gaps_s = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
    assert min(gaps_s) > 0.035
    assert (starts[-1] - starts[0]).total_seconds() >= 29 * 0.05 - 0.02


async def test_a_failed_claim_gives_its_leases_back_at_once(
    api: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    receiver: Receiver,
    lanes: LocalLanes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given 5 due deliveries, a claim lease of a minute, and a claim that fails after it
    # leased them (as when the connection drops before the reply)
    await publish(api, "a", receiver.url("/a"), 5)
    failures = iter([ConnectionResetError("connection lost")])
    keys_for = SigningKeyCache.keys_for

    async def lose_the_first_reply(self: SigningKeyCache, *args: object) -> object:
        for failure in failures:
            raise failure
        return await keys_for(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(SigningKeyCache, "keys_for", lose_the_first_reply)
    running = Pumps(settings.with_changes(request_timeout_s=30), lanes)
    await running.start(1)
    try:
        # When the scheduler's passes wake the lanes
        async def delivered() -> bool:
            await wake_all(database, lanes)
            return len(receiver.requests) == 5

        # Then the deliveries go out long before their lease would have lapsed
        await wait_until(delivered, timeout_s=10)
    finally:
        await running.close()
    assert next(failures, None) is None, "the claim never failed"
    assert set(Counter(r.headers["webhook-id"] for r in receiver.requests).values()) == {1}


async def test_an_unreadable_secret_fails_its_own_deliveries_only(
    api: httpx.AsyncClient,
    database: Database,
    receiver: Receiver,
    lanes: LocalLanes,
    pumps: Pumps,
) -> None:
    # Given two tenants' messages, and the first endpoint's sealed secret overwritten with
    # the second's (through the database): bound to another row, it no longer opens
    await publish(api, "broken", receiver.url("/broken"), 5)
    await publish(api, "healthy", receiver.url("/healthy"), 5)
    async with database.session() as session:
        broken = await session.scalar(select(Endpoint).where(Endpoint.url.endswith("/broken")))
        assert broken is not None
        secrets = {s.endpoint_id: s for s in await session.scalars(select(EndpointSecret))}
        [other] = [s for endpoint_id, s in secrets.items() if endpoint_id != broken.id]
        secrets[broken.id].ciphertext = other.ciphertext
        await session.commit()

    # When a pump delivers both (their claims share batches)
    await pumps.start(1)
    await wake_all(database, lanes)

    # Then the healthy endpoint gets its messages, and the broken one's fail unsent
    await receiver.wait_for_async(5, timeout_s=20, path="/healthy")

    async def broken_attempts() -> list[Attempt]:
        async with database.session() as session:
            query = (
                select(Attempt)
                .join(Delivery, Delivery.id == Attempt.delivery_id)
                .where(Delivery.endpoint_id == broken.id)
            )
            return list((await session.scalars(query)).all())

    async def all_failed_once() -> bool:
        return len(await broken_attempts()) >= 5

    await wait_until(all_failed_once, timeout_s=20)
    attempts = await broken_attempts()
    assert {a.status for a in attempts} == {"failed"}
    assert all("signing secret cannot be read" in (a.error or "") for a in attempts)
    assert receiver.requests_to("/broken") == []
