"""Retention (app.retention): messages past their project's retention go, with their
deliveries and attempts, unless a delivery is still due; login failures and portal
tokens go once they count for nothing; on SQLite and on PostgreSQL."""

import asyncio
import functools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.base import utcnow
from app.db.models import Attempt, Delivery, LoginFailure, Message, PortalToken
from app.db.session import Database, commit
from app.ids import new_id
from app.portal_access.service import SESSION_LIFETIME
from app.retention import purge_expired, purge_sign_in_records
from app.staff.throttle import FAILURE_WINDOW
from tests.conftest import ProjectKey
from workers import scheduler
from workers.scheduler import purge


@pytest.fixture
def database_url(sqlite_or_postgresql_url: str) -> str:
    return sqlite_or_postgresql_url


async def old_message(
    database: Database,
    project: ProjectKey,
    tenant_id: str,
    endpoint_id: str,
    *,
    age: timedelta,
    still_due: bool = False,
) -> str:
    """A message published and attempted once ``age`` ago (its attempt ``succeeded``, or
    ``failed`` with the delivery still due)."""
    created = utcnow() - age
    message_id = new_id("msg", now_ms=int(created.timestamp() * 1000))
    delivery_id = new_id("dlv")
    async with database.session() as session:
        session.add(
            Message(
                id=message_id,
                project_id=project.project_id,
                tenant_id=tenant_id,
                event_type="a.b",
                payload=b"{}",
                created_at=created,
            )
        )
        await session.flush()
        session.add(
            Delivery(
                id=delivery_id,
                project_id=project.project_id,
                tenant_id=tenant_id,
                message_id=message_id,
                endpoint_id=endpoint_id,
                status="failed" if still_due else "succeeded",
                attempt_count=1,
                next_attempt_at=utcnow() if still_due else None,
                created_at=created,
                updated_at=created,
            )
        )
        await session.flush()
        session.add(
            Attempt(
                id=new_id("atm", now_ms=int(created.timestamp() * 1000)),
                project_id=project.project_id,
                tenant_id=tenant_id,
                delivery_id=delivery_id,
                message_id=message_id,
                endpoint_id=endpoint_id,
                status="failed" if still_due else "succeeded",
                created_at=created,
            )
        )
        await commit(session)
    return message_id


async def retaining(api: httpx.AsyncClient, days: int) -> tuple[str, str]:
    """Set the project's retention; (tenant id, endpoint id) of a new tenant's endpoint."""
    assert (await api.patch("/api/v1/project", json={"retention_days": days})).status_code == 200
    tenant = (await api.post("/api/v1/tenants", json={"uid": "acme", "name": "A"})).json()
    endpoint = (
        await api.post("/api/v1/tenants/acme/endpoints", json={"url": "http://127.0.0.1:9/"})
    ).json()
    return tenant["id"], endpoint["id"]


async def rows_of(database: Database, message_ids: list[str]) -> dict[str, int]:
    async with database.session() as session:
        counts = {}
        for model in (Message, Delivery, Attempt):
            column = model.id if model is Message else model.message_id
            counts[model.__tablename__] = await session.scalar(
                select(func.count()).select_from(model).where(column.in_(message_ids))
            )
    return {name: int(count or 0) for name, count in counts.items()}


async def in_batches_of_two(
    database: Database, purge_batch: Callable[[AsyncSession, datetime, int], Awaitable[int]]
) -> list[int]:
    """How many rows each of four purges of ``batch=2`` deleted, each in its transaction."""
    now = utcnow()
    deleted = []
    for _ in range(4):
        async with database.session() as session:
            deleted.append(await purge_batch(session, now, 2))
            await commit(session)
    return deleted


async def test_only_settled_messages_past_retention_are_purged(
    api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    # Given a project keeping messages 3 days, and messages of 10 days, 2 days, and
    # 10 days whose delivery is still due (a retry pending)
    ids = await retaining(api, days=3)
    expired = await old_message(database, project, *ids, age=timedelta(days=10))
    recent = await old_message(database, project, *ids, age=timedelta(days=2))
    due = await old_message(database, project, *ids, age=timedelta(days=10), still_due=True)

    # When the purge runs (twice: the second finds nothing)
    assert await purge(database) == 1
    assert await purge(database) == 0

    # Then only the settled, expired message is gone, with its delivery and attempt
    assert await rows_of(database, [expired]) == {"messages": 0, "deliveries": 0, "attempts": 0}
    for kept in (recent, due):
        assert await rows_of(database, [kept]) == {"messages": 1, "deliveries": 1, "attempts": 1}


async def test_the_purge_goes_in_batches(
    api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    ids = await retaining(api, days=1)
    for _ in range(5):
        await old_message(database, project, *ids, age=timedelta(days=2))
    assert await in_batches_of_two(database, purge_expired) == [2, 2, 1, 0]


async def test_the_scheduler_purges_a_batch_per_tick_then_waits(
    api: httpx.AsyncClient,
    database: Database,
    project: ProjectKey,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given five expired messages, and purges of two at a time
    ids = await retaining(api, days=1)
    for _ in range(5):
        await old_message(database, project, *ids, age=timedelta(days=2))
    monkeypatch.setattr(scheduler, "purge_expired", functools.partial(purge_expired, batch=2))
    events: list[str] = []

    async def traced_tick(database: Database, settings: Settings, **options: bool) -> int:
        events.append("tick")
        return await real_tick(database, settings, **options)

    async def traced_purge(database: Database) -> int:
        purged = await real_purge(database)
        events.append(f"purge {purged}")
        return purged

    real_tick, real_purge = scheduler.tick, scheduler.purge
    monkeypatch.setattr(scheduler, "tick", traced_tick)
    monkeypatch.setattr(scheduler, "purge", traced_purge)
    # When the scheduler runs for a dozen ticks
    stop = asyncio.Event()
    running = asyncio.create_task(scheduler.run_scheduler(database, settings, stop))
    for _ in range(200):
        if events.count("tick") >= 12:
            break
        await asyncio.sleep(settings.scheduler_interval_s / 2)
    stop.set()
    await asyncio.wait_for(running, timeout=10)
    # Then each tick leased first and purged one batch, until a batch found nothing;
    # the next purge waits for PURGE_EVERY_S, while ticks go on
    assert events[:8] == [
        "tick",
        "purge 2",
        "tick",
        "purge 2",
        "tick",
        "purge 1",
        "tick",
        "purge 0",
    ]
    assert set(events[8:]) == {"tick"} and len(events[8:]) >= 4


def login_failure(address: str, *, age: timedelta, locked_for: timedelta | None) -> LoginFailure:
    """A failure count started ``age`` ago, locked until ``locked_for`` from now."""
    now = utcnow()
    return LoginFailure(
        email="ann@example.com",
        client_ip=address,
        failures=1,
        first_failed_at=now - age,
        locked_until=None if locked_for is None else now + locked_for,
    )


def portal_token(
    project: ProjectKey,
    tenant_id: str,
    jti: str,
    *,
    expires_in: timedelta,
    used_ago: timedelta | None,
) -> PortalToken:
    now = utcnow()
    return PortalToken(
        jti=jti,
        project_id=project.project_id,
        tenant_id=tenant_id,
        expires_at=now + expires_in,
        used_at=None if used_ago is None else now - used_ago,
    )


async def test_old_login_failures_and_spent_portal_tokens_are_purged(
    api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    # Given login failures whose window is over (one unlocked, one with its lockout over,
    # one still locked) or still open, and portal tokens expired unused, used longer ago
    # than a session lasts, used recently (its session may be live), and not yet used
    tenant_id, _ = await retaining(api, days=30)
    window, hour = FAILURE_WINDOW, timedelta(hours=1)
    async with database.session() as session:
        session.add_all(
            [
                login_failure("10.0.0.1", age=window + hour, locked_for=None),
                login_failure("10.0.0.2", age=window + hour, locked_for=-hour),
                login_failure("10.0.0.3", age=window + hour, locked_for=hour),
                login_failure("10.0.0.4", age=window / 2, locked_for=None),
                portal_token(project, tenant_id, "expired", expires_in=-hour, used_ago=None),
                portal_token(
                    project,
                    tenant_id,
                    "used-long-ago",
                    expires_in=-hour,
                    used_ago=SESSION_LIFETIME + hour,
                ),
                portal_token(project, tenant_id, "used-now", expires_in=hour, used_ago=hour),
                portal_token(project, tenant_id, "unused", expires_in=hour, used_ago=None),
            ]
        )
        await commit(session)

    # When the purge runs (twice: the second finds nothing)
    assert await purge(database) == 4
    assert await purge(database) == 0

    # Then only what can still matter is kept
    async with database.session() as session:
        failures = set((await session.scalars(select(LoginFailure.client_ip))).all())
        tokens = set((await session.scalars(select(PortalToken.jti))).all())
    assert failures == {"10.0.0.3", "10.0.0.4"}
    assert tokens == {"used-now", "unused"}


async def test_the_sign_in_purge_goes_in_batches(
    api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    # Given five old login failures and five expired portal tokens
    tenant_id, _ = await retaining(api, days=30)
    old, expired = FAILURE_WINDOW * 2, -timedelta(minutes=1)
    async with database.session() as session:
        for i in range(5):
            session.add(login_failure(f"10.0.0.{i}", age=old, locked_for=None))
            session.add(
                portal_token(project, tenant_id, f"t{i}", expires_in=expired, used_ago=None)
            )
        await commit(session)
    # When batches of two of each are purged, Then they go two and two at a time
    assert await in_batches_of_two(database, purge_sign_in_records) == [4, 4, 2, 0]
