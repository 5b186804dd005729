"""A replay that fails on an internal error: the detail goes to the log, and the replay,
which tenants and the console see, keeps only a sentence."""

import logging

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.config import Settings
from app.db.session import Database, commit
from app.replays import batches
from tests.conftest import ProjectKey
from tests.replay_seed import make_tenant_endpoint, seed_deliveries
from tests.workers.test_replay_job import SINCE

# Refuses what a replay batch writes (SQLite's RAISE(ABORT) is an IntegrityError, neither
# an OperationalError nor an InterfaceError, so not a transient failure).
REFUSE_REPLAYS = """
CREATE TRIGGER refuse_replays BEFORE UPDATE OF next_trigger ON deliveries
WHEN NEW.next_trigger = 'replay'
BEGIN SELECT RAISE(ABORT, 'replays refused by the test trigger'); END
"""


async def test_an_internal_error_is_logged_and_the_replay_shows_a_sentence(
    api: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    project: ProjectKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a replay of failed deliveries, and a database that refuses its first batch
    tenant, endpoint = await make_tenant_endpoint(api, "acme")
    delivery_ids = await seed_deliveries(database, project.project_id, tenant, endpoint, 3)
    replay = (await api.post("/api/v1/replays", json=SINCE)).json()
    async with database.session() as session:
        await session.execute(text(REFUSE_REPLAYS))
        await commit(session)

    # When the replay job runs
    with caplog.at_level(logging.ERROR, logger="herald.replays"), pytest.raises(IntegrityError):
        await batches.run_replay_step(database, settings, replay["id"])

    # Then tenants and the console see it failed, with a sentence and nothing internal
    shown = (await api.get(f"/api/v1/replays/{replay['id']}")).json()
    assert shown["status"] == "failed"
    assert shown["error"] == batches.REPLAY_FAILED
    # And the log has the detail, without the statement's parameters
    [record] = [r for r in caplog.records if r.name == "herald.replays"]
    assert record.exc_info is not None
    detail = str(record.exc_info[1])
    assert "replays refused by the test trigger" in detail and "UPDATE deliveries" in detail
    assert not any(delivery_id in detail for delivery_id in delivery_ids)
