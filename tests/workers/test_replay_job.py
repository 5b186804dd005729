"""The replay.run actor: batches that re-send each delivery once, and resume when lost."""

import asyncio
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from app.config import Settings
from app.db.base import utcnow
from app.db.models import Attempt
from app.db.session import Database, commit
from app.outbox import Sender
from app.replays import batches
from tests.conftest import ProjectKey, wait_until
from tests.herald_cli import run_cli
from tests.receivers import Receiver
from tests.replay_seed import make_tenant_endpoint, replay_requested, seed_deliveries
from workers.scheduler import run_scheduler
from workers.stack import WorkerStack

SINCE = {"since": (utcnow() - timedelta(hours=1)).isoformat()}


async def attempt_triggers(database: Database) -> Counter[str]:
    async with database.session() as session:
        return Counter((await session.scalars(select(Attempt.trigger))).all())


async def replay_state(api: httpx.AsyncClient, replay_id: str) -> dict[str, object]:
    state: dict[str, object] = (await api.get(f"/api/v1/replays/{replay_id}")).json()
    return state


class TestThroughTheQueue:
    @pytest.fixture
    def job_sender(self, worker_stack: WorkerStack) -> Sender:
        return worker_stack.sender

    async def test_each_failed_delivery_is_resent_exactly_once_as_a_replay(
        self,
        api: httpx.AsyncClient,
        database: Database,
        project: ProjectKey,
        receiver: Receiver,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # Given seven exhausted deliveries to a receiver that now answers 200, and
        # replay batches of three
        monkeypatch.setattr(batches, "BATCH_SIZE", 3)
        tenant, endpoint = await make_tenant_endpoint(api, "acme", receiver.url("/hook"))
        await seed_deliveries(database, project.project_id, tenant, endpoint, 7, status="exhausted")

        # When a replay is asked for through the API
        replay = (await api.post("/api/v1/replays", json=SINCE)).json()

        # Then the chain of batch jobs completes it and every message arrives once
        received = await receiver.wait_for_async(7, timeout_s=15)
        assert len({r.headers["webhook-id"] for r in received}) == 7

        async def succeeded() -> bool:
            return (await replay_state(api, replay["id"]))["succeeded"] == 7

        await wait_until(succeeded, timeout_s=10)
        state = await replay_state(api, replay["id"])
        assert (state["status"], state["done"], state["requeued"]) == ("completed", 7, 7)
        await asyncio.sleep(1.0)
        assert len(receiver.requests_to("/hook")) == 7
        assert await attempt_triggers(database) == Counter({"replay": 7})


async def test_a_replay_whose_job_was_lost_mid_way_is_resumed_by_the_scheduler(
    api: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    project: ProjectKey,
    receiver: Receiver,
    worker_stack: WorkerStack,
) -> None:
    # Given a replay of seven failed deliveries whose first batch of three committed but
    # whose jobs (attempts and next batch) never reached a queue: the API and this
    # database discard them, as if the process died right after the commit
    tenant, endpoint = await make_tenant_endpoint(api, "acme", receiver.url("/hook"))
    await seed_deliveries(database, project.project_id, tenant, endpoint, 7)
    replay = (await api.post("/api/v1/replays", json=SINCE)).json()
    async with database.session() as session:
        first = await batches.run_batch(session, settings, replay["id"], batch_size=3)
        await commit(session)
    assert first is not None and (first.status, first.done) == ("running", 3)
    await asyncio.sleep(0.3)
    assert receiver.requests == []

    # When a scheduler runs against the real queue
    queued = Database(settings.database_url, sender=worker_stack.sender)
    stop = asyncio.Event()
    scheduler = asyncio.create_task(run_scheduler(queued, settings, stop))
    try:
        # Then, once the replay has been silent for requeue_after_s, it is resumed: the
        # remaining batches run and the first batch's lapsed leases are re-leased, so
        # every delivery is sent once, as a replay
        received = await receiver.wait_for_async(7, timeout_s=settings.requeue_after_s * 3 + 10)
        assert len({r.headers["webhook-id"] for r in received}) == 7

        async def completed() -> bool:
            return (await replay_state(api, replay["id"]))["status"] == "completed"

        await wait_until(completed, timeout_s=10)
        await asyncio.sleep(settings.requeue_after_s + 0.5)
        assert len(receiver.requests_to("/hook")) == 7
        assert await attempt_triggers(database) == Counter({"replay": 7})
    finally:
        stop.set()
        await asyncio.wait_for(scheduler, timeout=10)
        await queued.dispose()


async def test_the_cli_runs_the_batches_itself_and_draws_progress_to_100(
    api: httpx.AsyncClient, database: Database, settings: Settings, project: ProjectKey
) -> None:
    # Given 1 200 failed deliveries (three batches of 500) and no worker anywhere
    tenant, endpoint = await make_tenant_endpoint(api, "acme")
    failed = await seed_deliveries(database, project.project_id, tenant, endpoint, 1200)

    # When `herald replay` runs for the tenant
    code, out, err = await run_cli(
        settings, "replay", "--project", project.project_id, "--tenant", "acme",
        "--since", (utcnow() - timedelta(hours=1)).isoformat(),
    )  # fmt: skip

    # Then it prints the match, one progress line per batch up to 100 %, and the outcome
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("replay rpl_") and lines[0].endswith("1200 deliveries match")
    assert [line.split("]")[1].split("%")[0].strip() for line in lines[1:4]] == ["41", "83", "100"]
    assert lines[3].startswith("[" + "#" * 30 + "]") and "1200/1200" in lines[3]
    assert lines[4] == "completed: 1200 re-queued, 0 already pending"
    assert len(await replay_requested(database)) == len(failed)


async def test_the_cli_refuses_an_unknown_tenant(settings: Settings, project: ProjectKey) -> None:
    # When `herald replay` names a tenant the project does not have
    code, _, err = await run_cli(
        settings, "replay", "--project", project.project_id, "--tenant", "nobody",
        "--since", "2026-01-01T00:00:00Z",
    )  # fmt: skip
    # Then it fails with the reason
    assert (code, err.strip()) == (1, "herald: tenant: no tenant 'nobody' in this project")
