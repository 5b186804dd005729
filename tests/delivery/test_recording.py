"""Recording attempts (app.delivery.recording): overlapping attempts, lost leases,
deliveries deleted mid-attempt, events raised once, on SQLite and on PostgreSQL."""

import asyncio
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, func, select, update

from app.config import Settings
from app.db.base import utcnow
from app.db.models import Attempt, Delivery, Endpoint, Message, Tenant
from app.db.session import Database, commit
from app.delivery.claim import Claimed, load_leased, new_lease_token
from app.delivery.client import AttemptResult
from app.delivery.recording import Sent, record_attempts
from app.metrics import AttemptTotals
from app.operational.events import OPERATIONAL_UID


@pytest.fixture
def database_url(sqlite_or_postgresql_url: str) -> str:
    return sqlite_or_postgresql_url


FAILED = AttemptResult(
    ok=False,
    status_code=500,
    body="",
    duration_ms=3,
    error_kind="http_status",
    error="HTTP 500",
    retry_after_s=None,
)


async def publish_one(api: httpx.AsyncClient, tenant: str = "acme") -> None:
    await api.post("/api/v1/tenants", json={"uid": tenant, "name": tenant})
    await api.post(f"/api/v1/tenants/{tenant}/endpoints", json={"url": "http://127.0.0.1:9/"})
    reply = await api.post(
        f"/api/v1/tenants/{tenant}/messages", json={"event_type": "a.b", "payload": {}}
    )
    assert reply.status_code == 202


async def claimed(database: Database, tenant: str = "acme") -> Claimed:
    """The tenant's only delivery, leased as a claim leases it."""
    token = new_lease_token()
    async with database.session() as session:
        delivery = await session.scalar(
            select(Delivery)
            .join(Tenant, Tenant.id == Delivery.tenant_id)
            .where(Tenant.uid == tenant)
        )
        assert delivery is not None
        until = utcnow() + timedelta(minutes=1)
        delivery.lease_token, delivery.lease_until = token, until
        await session.flush()
        (leased,) = await load_leased(session, [delivery.id])
        await commit(session)
    return Claimed(*leased, keys=[], lease_token=token, lease_until=until)


async def record(
    database: Database, settings: Settings, *sent: tuple[Claimed, AttemptResult]
) -> None:
    async with database.session() as session:
        pairs = [Sent(item, result) for item, result in sent]
        await record_attempts(session, settings, pairs, random.Random(1), utcnow())
        await commit(session)


async def the_delivery(database: Database) -> Delivery:
    async with database.session() as session:
        delivery = await session.scalar(select(Delivery))
    assert delivery is not None
    return delivery


async def operational_messages(database: Database, event_type: str) -> int:
    async with database.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Message)
            .join(Tenant, Tenant.id == Message.tenant_id)
            .where(Tenant.uid == OPERATIONAL_UID, Message.event_type == event_type)
        )
    return int(count or 0)


async def test_an_attempt_under_its_lease_schedules_the_next(
    api: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    await publish_one(api)
    item = await claimed(database)
    await record(database, settings, (item, FAILED))
    delivery = await the_delivery(database)
    assert delivery.lease_token is None and delivery.lease_until is None
    assert delivery.next_attempt_at is not None and delivery.next_attempt_at > utcnow()
    assert (delivery.status, delivery.attempt_count) == ("failed", 1)


async def test_overlapping_attempts_are_both_counted(
    api: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    # Given an attempt in flight, and a resend of it claimed and in flight too
    await publish_one(api)
    first = await claimed(database)
    second = await claimed(database)
    # When both fail and are recorded, one after the other, then two more in one batch
    await record(database, settings, (first, FAILED))
    await record(database, settings, (second, FAILED))
    third = await claimed(database)
    await record(database, settings, (third, FAILED), (replace(third, lease_token="old"), FAILED))
    # Then the delivery counts four attempts, as its log shows, and the schedule (four
    # attempts in these settings) is used up
    async with database.session() as session:
        delivery = await session.scalar(select(Delivery))
        attempts = (await session.scalars(select(Attempt))).all()
    assert delivery is not None and delivery.attempt_count == 4 == len(attempts)
    assert len(settings.retry_schedule_s) == 4 and delivery.status == "exhausted"


async def test_an_attempt_that_lost_its_lease_leaves_the_newer_request_standing(
    api: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    # Given a delivery asked for again (a resend) while its attempt was in flight
    await publish_one(api)
    item = await claimed(database)
    due = datetime(2030, 1, 1, tzinfo=UTC)
    async with database.session() as session:
        await session.execute(
            update(Delivery).values(lease_token=None, next_attempt_at=due, next_trigger="manual")
        )
        await commit(session)
    # When the old attempt is recorded
    await record(database, settings, (item, FAILED))
    # Then it is counted, but the resend keeps its time and trigger
    delivery = await the_delivery(database)
    assert (delivery.lease_token, delivery.next_attempt_at) == (None, due)
    assert (delivery.next_trigger, delivery.attempt_count) == ("manual", 1)


@pytest.mark.parametrize("deleted", ["endpoint", "tenant"])
async def test_a_delivery_deleted_mid_attempt_does_not_fail_its_batch(
    api: httpx.AsyncClient, settings: Settings, database: Database, deleted: str
) -> None:
    # Given two tenants' deliveries in flight, and one tenant's endpoint (or the tenant)
    # deleted while its attempt ran
    await publish_one(api, "gone")
    await publish_one(api, "kept")
    doomed, kept = await claimed(database, "gone"), await claimed(database, "kept")
    async with database.session() as session:
        table = Endpoint if deleted == "endpoint" else Tenant
        await session.execute(delete(table).where(table.id == getattr(doomed, deleted).id))
        await commit(session)
    # When both attempts are recorded in one batch
    await record(database, settings, (doomed, FAILED), (kept, FAILED))
    # Then the surviving delivery is recorded, and nothing refers to the deleted one
    async with database.session() as session:
        attempts = (await session.scalars(select(Attempt.delivery_id))).all()
        kept_row = await session.get(Delivery, kept.delivery.id)
    assert attempts == [kept.delivery.id]
    assert kept_row is not None and kept_row.attempt_count == 1


async def test_exhausted_and_failing_are_announced_once_by_racing_recorders(
    api: httpx.AsyncClient, settings: Settings, database: Database, project: object
) -> None:
    # Given a project with an operational endpoint, and a delivery with one attempt left
    await api.post("/api/v1/operational-endpoints", json={"url": "http://127.0.0.1:9/op"})
    await publish_one(api)
    schedule = len(settings.retry_schedule_s)
    async with database.session() as session:
        await session.execute(update(Delivery).values(attempt_count=schedule - 1))
        await commit(session)
    # When two attempts of it fail and are recorded at once, many times over
    for _ in range(10):
        first, second = await claimed(database), await claimed(database)
        await asyncio.gather(
            record(database, settings, (first, FAILED)),
            record(database, settings, (second, FAILED)),
        )
        async with database.session() as session:
            await session.execute(update(Delivery).values(attempt_count=schedule - 1))
            await session.execute(
                update(Delivery).values(status="failed", next_attempt_at=utcnow())
            )
            await commit(session)
    # Then each round raised exactly one exhausted event
    assert await operational_messages(database, "message.attempt.exhausted") == 10


GONE = replace(FAILED, status_code=410, error="HTTP 410")


async def test_endpoint_disabled_is_announced_once_by_racing_recorders(
    api: httpx.AsyncClient, settings: Settings, database: Database, project: object
) -> None:
    # Given a project with an operational endpoint, and a delivery to an endpoint
    await api.post("/api/v1/operational-endpoints", json={"url": "http://127.0.0.1:9/op"})
    await publish_one(api)
    # When two attempts of it are answered 410 Gone and recorded at once, many times over
    # (the endpoint enabled again between rounds)
    rounds = 20
    for _ in range(rounds):
        first, second = await claimed(database), await claimed(database)
        await asyncio.gather(
            record(database, settings, (first, GONE)),
            record(database, settings, (second, GONE)),
        )
        async with database.session() as session:
            endpoint = await session.get(Endpoint, first.endpoint.id)
            assert endpoint is not None and endpoint.disabled
            await session.execute(update(Endpoint).values(disabled=False, disabled_reason=None))
            await session.execute(
                update(Delivery).values(status="pending", next_attempt_at=utcnow())
            )
            await commit(session)
    # Then each round disabled it once and announced it once
    assert await operational_messages(database, "endpoint.disabled") == rounds


async def test_an_attempt_written_long_after_it_began_still_reaches_the_metrics(
    api: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    # Given an api process that has already read its attempt totals
    await publish_one(api)
    item = await claimed(database)
    totals = AttemptTotals()
    async with database.session() as session:
        assert dict(await totals.read(session, utcnow())) == {}
    # When an attempt that began ten minutes ago is recorded (its worker froze mid-way)
    began = utcnow() - timedelta(minutes=10)
    await record(database, settings, (item, replace(FAILED, started_at=began)))
    # Then the next read counts it, and the log still says when it began
    async with database.session() as session:
        assert dict(await totals.read(session, utcnow())) == {"failed": 1}
        attempt = await session.scalar(select(Attempt))
    assert attempt is not None and attempt.created_at == began
