"""/metrics (app.metrics): unsettled deliveries and attempt totals, read without counting
all of history at each scrape; on SQLite and on PostgreSQL."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import delete

from app.db.base import utcnow
from app.db.models import Attempt
from app.db.session import Database, commit
from app.metrics import AttemptTotals
from tests.conftest import ProjectKey
from tests.unit.test_retention import old_message


@pytest.fixture
def database_url(sqlite_or_postgresql_url: str) -> str:
    return sqlite_or_postgresql_url


async def tenant_and_endpoint(api: httpx.AsyncClient) -> tuple[str, str]:
    tenant = (await api.post("/api/v1/tenants", json={"uid": "acme", "name": "A"})).json()
    endpoint = (
        await api.post("/api/v1/tenants/acme/endpoints", json={"url": "http://127.0.0.1:9/"})
    ).json()
    return tenant["id"], endpoint["id"]


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
