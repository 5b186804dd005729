"""Recording attempts (app.delivery.recording) when attempts of one delivery overlap,
on SQLite and on PostgreSQL."""

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from app.config import Settings
from app.db.base import utcnow
from app.db.models import Attempt, Delivery
from app.db.session import Database, commit
from app.delivery.client import AttemptResult
from app.delivery.dispatch import ClaimedDelivery
from app.delivery.leases import load_leased
from app.delivery.recording import record_attempts, record_deferrals
from app.metrics import AttemptTotals


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


async def test_overlapping_attempts_are_both_counted(
    api: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    # Given a published message's delivery, loaded twice before either attempt is
    # recorded (an attempt in flight, and a resend of it in flight too)
    first, token = await _one_claimed_delivery(api, database)
    second, _ = await _loaded(database)
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


async def _one_claimed_delivery(
    api: httpx.AsyncClient, database: Database
) -> tuple[ClaimedDelivery, str]:
    """A published message's only delivery, as a worker claims it, and its lease token."""
    await api.post("/api/v1/tenants", json={"uid": "acme", "name": "Acme"})
    await api.post("/api/v1/tenants/acme/endpoints", json={"url": "http://127.0.0.1:9/"})
    reply = await api.post(
        "/api/v1/tenants/acme/messages", json={"event_type": "a.b", "payload": {}}
    )
    assert reply.status_code == 202
    return await _loaded(database)


async def _loaded(database: Database) -> tuple[ClaimedDelivery, str]:
    """The only delivery, loaded as a claim loads it, and its current lease token."""
    async with database.session() as session:
        delivery = await session.scalar(select(Delivery))
        assert delivery is not None
        (leased,) = await load_leased(session, [delivery.id])
    return ClaimedDelivery(*leased, keys=[]), str(delivery.lease_token)


async def _asked_again(database: Database, delivery_id: str) -> datetime:
    """A resend while the attempt ran: a new lease, due at its own time."""
    due = datetime(2030, 1, 1, tzinfo=UTC)
    async with database.session() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(lease_token="newer", next_attempt_at=due, next_trigger="manual")
        )
        await commit(session)
    return due


async def _delivery(database: Database) -> Delivery:
    async with database.session() as session:
        delivery = await session.scalar(select(Delivery))
    assert delivery is not None
    return delivery


async def test_an_attempt_under_its_lease_schedules_the_next(
    api: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    item, token = await _one_claimed_delivery(api, database)
    async with database.session() as session:
        await record_attempts(
            session, settings, [(item, FAILED)], random.Random(1), {item.delivery.id: token}
        )
        await commit(session)
    delivery = await _delivery(database)
    assert delivery.lease_token is None and delivery.lease_until is None
    assert delivery.next_attempt_at is not None and delivery.next_attempt_at > utcnow()
    assert (delivery.status, delivery.attempt_count) == ("failed", 1)


async def test_an_attempt_that_lost_its_lease_leaves_the_newer_request_standing(
    api: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    # Given a delivery asked for again (a resend) while its attempt was in flight
    item, token = await _one_claimed_delivery(api, database)
    due = await _asked_again(database, item.delivery.id)
    # When the old attempt is recorded under its old lease
    async with database.session() as session:
        await record_attempts(
            session, settings, [(item, FAILED)], random.Random(1), {item.delivery.id: token}
        )
        await commit(session)
    # Then it is counted, but the resend keeps its lease, time and trigger
    delivery = await _delivery(database)
    assert (delivery.lease_token, delivery.next_attempt_at) == ("newer", due)
    assert (delivery.next_trigger, delivery.attempt_count) == ("manual", 1)


async def test_a_deferral_gives_back_only_a_delivery_still_under_its_lease(
    api: httpx.AsyncClient, database: Database
) -> None:
    item, token = await _one_claimed_delivery(api, database)
    later = utcnow() + timedelta(minutes=5)
    # A deferral under a lease the delivery no longer holds changes nothing
    due = await _asked_again(database, item.delivery.id)
    async with database.session() as session:
        await record_deferrals(session, {item.delivery.id: later}, {item.delivery.id: token})
        await commit(session)
    delivery = await _delivery(database)
    assert (delivery.lease_token, delivery.next_attempt_at) == ("newer", due)
    # Under the lease it holds, the delivery is due again later, with no lease
    async with database.session() as session:
        await record_deferrals(session, {item.delivery.id: later}, {item.delivery.id: "newer"})
        await commit(session)
    delivery = await _delivery(database)
    assert (delivery.lease_token, delivery.next_attempt_at) == (None, later)
    assert delivery.attempt_count == 0


async def test_an_attempt_written_long_after_it_began_still_reaches_the_metrics(
    api: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    # Given an api process that has already read its attempt totals
    item, token = await _one_claimed_delivery(api, database)
    totals = AttemptTotals()
    async with database.session() as session:
        assert dict(await totals.read(session, utcnow())) == {}
    # When an attempt that began ten minutes ago is recorded (its worker froze mid-way)
    began = utcnow() - timedelta(minutes=10)
    async with database.session() as session:
        await record_attempts(
            session,
            settings,
            [(item, replace(FAILED, started_at=began))],
            random.Random(1),
            {item.delivery.id: token},
        )
        await commit(session)
    # Then the next read counts it, and the log still says when it began
    async with database.session() as session:
        assert dict(await totals.read(session, utcnow())) == {"failed": 1}
        attempt = await session.scalar(select(Attempt))
    assert attempt is not None and attempt.created_at == began
