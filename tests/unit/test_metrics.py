"""/metrics (app.metrics): unsettled deliveries and attempt totals, read without counting
all of history at each scrape; lag and due counts only of deliveries Herald is free to
send, the held-back ones apart (and /readyz's lag check on the same definition); on
SQLite and on PostgreSQL."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, update

from app.config import Settings
from app.db.base import utcnow
from app.db.models import Attempt, Delivery, Endpoint
from app.db.session import Database, commit
from app.metrics import AttemptTotals, DueBacklog, read_due_backlog
from tests.conftest import ProjectKey
from tests.unit.test_retention import old_message

HOUR = timedelta(hours=1)

# Endpoint columns that hold its due deliveries back, one way each (the test settings'
# circuit threshold is 5).
HELD_BACK: dict[str, dict[str, Any]] = {
    "paused": {"paused": True},
    "disabled": {"disabled": True},
    "rate_limited": {"rate_limit": 5},
    "circuit_open": {"consecutive_failures": 5, "circuit_open_until": utcnow() + 24 * HOUR},
}
# Endpoint columns that look unhealthy but hold nothing back.
NOT_HELD_BACK: dict[str, dict[str, Any]] = {
    "failing_below_threshold": {"consecutive_failures": 4, "circuit_open_until": utcnow() + HOUR},
    "circuit_cooled_down": {"consecutive_failures": 9, "circuit_open_until": utcnow() - HOUR},
    "failing_without_circuit": {"consecutive_failures": 9, "circuit_open_until": None},
}


@pytest.fixture
def database_url(sqlite_or_postgresql_url: str) -> str:
    return sqlite_or_postgresql_url


async def tenant_and_endpoint(api: httpx.AsyncClient, uid: str = "acme") -> tuple[str, str]:
    """A new tenant ``uid`` with one endpoint: their ids."""
    tenant = (await api.post("/api/v1/tenants", json={"uid": uid, "name": uid})).json()
    endpoint = (
        await api.post(f"/api/v1/tenants/{uid}/endpoints", json={"url": "http://127.0.0.1:9/"})
    ).json()
    return tenant["id"], endpoint["id"]


async def add_endpoint(
    api: httpx.AsyncClient, database: Database, uid: str, **columns: Any
) -> tuple[str, str]:
    """``tenant_and_endpoint``, with ``columns`` of the endpoint then set in the database."""
    ids = await tenant_and_endpoint(api, uid)
    async with database.session() as session:
        await session.execute(update(Endpoint).where(Endpoint.id == ids[1]).values(**columns))
        await commit(session)
    return ids


async def add_due_delivery(
    database: Database, project: ProjectKey, ids: tuple[str, str], due_for: timedelta
) -> None:
    """A failed delivery to endpoint ``ids`` whose next attempt has been due for ``due_for``."""
    message_id = await old_message(database, project, *ids, age=due_for, still_due=True)
    async with database.session() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.message_id == message_id)
            .values(next_attempt_at=utcnow() - due_for)
        )
        await commit(session)


async def backlog_now(database: Database, settings: Settings) -> DueBacklog:
    async with database.session() as session:
        return await read_due_backlog(session, utcnow(), settings.circuit_failure_threshold)


async def totals_now(totals: AttemptTotals, database: Database) -> dict[str, int]:
    async with database.session() as session:
        return dict(await totals.read(session, utcnow()))


async def test_attempt_totals_count_old_attempts_once_and_new_ones_live(
    api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    # Given attempts from ten days ago (two succeeded) and one failing now
    ids = await tenant_and_endpoint(api)
    old = [await old_message(database, project, *ids, age=timedelta(days=10)) for _ in range(2)]
    await old_message(database, project, *ids, age=timedelta(0), still_due=True)
    totals = AttemptTotals()
    assert await totals_now(totals, database) == {"succeeded": 2, "failed": 1}

    # When a new attempt is made, the next scrape counts it
    await old_message(database, project, *ids, age=timedelta(0))
    assert await totals_now(totals, database) == {"succeeded": 3, "failed": 1}

    # And old attempts, once counted, stay counted (a counter), even when purged
    async with database.session() as session:
        await session.execute(delete(Attempt).where(Attempt.message_id.in_(old)))
        await commit(session)
    assert await totals_now(totals, database) == {"succeeded": 3, "failed": 1}


async def test_metrics_show_unsettled_deliveries_and_attempts(
    api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    ids = await tenant_and_endpoint(api)
    await old_message(database, project, *ids, age=timedelta(days=1))
    await old_message(database, project, *ids, age=timedelta(0), still_due=True)
    text = (await api.get("/metrics")).text
    assert 'herald_deliveries{status="failed"} 1' in text
    assert 'herald_deliveries{status="pending"} 0' in text
    assert "herald_deliveries_due 1" in text
    assert 'herald_attempts_total{status="succeeded"} 1' in text
    assert 'herald_attempts_total{status="failed"} 1' in text


@pytest.mark.parametrize("held_by", HELD_BACK)
async def test_a_held_back_delivery_is_counted_apart_and_adds_no_lag(
    api: httpx.AsyncClient,
    database: Database,
    project: ProjectKey,
    settings: Settings,
    held_by: str,
) -> None:
    # Given a live endpoint's delivery due for a minute, and one held back for a day
    live = await add_endpoint(api, database, "live")
    await add_due_delivery(database, project, live, due_for=timedelta(minutes=1))
    held = await add_endpoint(api, database, held_by, **HELD_BACK[held_by])
    await add_due_delivery(database, project, held, due_for=24 * HOUR)

    # When the backlog is read
    backlog = await backlog_now(database, settings)

    # Then only the live delivery is due and sets the lag; the other is held
    assert (backlog.free, backlog.held) == (1, 1)
    assert backlog.oldest_free_due_at is not None
    lag = utcnow() - backlog.oldest_free_due_at
    assert timedelta(minutes=1) <= lag < timedelta(minutes=10)


@pytest.mark.parametrize("state", NOT_HELD_BACK)
async def test_a_failing_endpoint_without_an_open_circuit_holds_nothing_back(
    api: httpx.AsyncClient, database: Database, project: ProjectKey, settings: Settings, state: str
) -> None:
    # Given an endpoint that fails but whose circuit is closed or ready for a probe
    endpoint = await add_endpoint(api, database, state, **NOT_HELD_BACK[state])
    await add_due_delivery(database, project, endpoint, due_for=HOUR)

    # When the backlog is read
    backlog = await backlog_now(database, settings)

    # Then its delivery is one Herald is free to send, and it lags
    assert (backlog.free, backlog.held) == (1, 0)
    assert backlog.oldest_free_due_at is not None
    assert utcnow() - backlog.oldest_free_due_at >= HOUR


async def test_metrics_split_due_deliveries_into_free_and_held(
    api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    # Given one live endpoint's delivery due for 10 s, and a day-old one held each way
    live = await add_endpoint(api, database, "live")
    await add_due_delivery(database, project, live, due_for=timedelta(seconds=10))
    for held_by, columns in HELD_BACK.items():
        held = await add_endpoint(api, database, held_by, **columns)
        await add_due_delivery(database, project, held, due_for=24 * HOUR)

    # When Prometheus scrapes
    text = (await api.get("/metrics")).text

    # Then due and lag are the live delivery's, and every held one is counted as held
    assert "herald_deliveries_due 1\n" in text
    assert f"herald_deliveries_held {len(HELD_BACK)}\n" in text
    assert "# TYPE herald_deliveries_held gauge" in text
    [lag_line] = [line for line in text.splitlines() if line.startswith("herald_delivery_lag")]
    assert 10 <= float(lag_line.split()[1]) < 600


async def test_readyz_ignores_held_back_deliveries_but_not_late_live_ones(
    client: httpx.AsyncClient,
    api: httpx.AsyncClient,
    database: Database,
    project: ProjectKey,
    settings: Settings,
) -> None:
    # Given deliveries held back every way, each due for far longer than the bound
    assert settings.ready_max_lag_s < 24 * HOUR.total_seconds()
    for held_by, columns in HELD_BACK.items():
        held = await add_endpoint(api, database, held_by, **columns)
        await add_due_delivery(database, project, held, due_for=24 * HOUR)

    # Then Herald is ready: none of them is its own delay
    reply = await client.get("/readyz")
    assert reply.status_code == 200, reply.text
    assert reply.json()["checks"]["delivery_lag"] == "ok"

    # When a live endpoint's delivery has been due for longer than the bound
    live = await add_endpoint(api, database, "live")
    await add_due_delivery(database, project, live, due_for=timedelta(hours=2))

    # Then /readyz is 503 and names the delivery lag, the dependencies still ok
    reply = await client.get("/readyz")
    assert reply.status_code == 503
    body = reply.json()
    assert body["code"] == "service_unavailable"
    assert body["checks"]["delivery_lag"].startswith("late: ")
    assert body["checks"]["database"] == body["checks"]["broker"] == "ok"
    assert "delivery_lag" in body["detail"]
