"""Leases on PostgreSQL: several schedulers never lease the same delivery twice (SKIP
LOCKED), and a lease held by a worker killed mid-attempt is reclaimed."""

import asyncio
from pathlib import Path

import pytest

from app.config import Settings
from app.db.base import utcnow
from app.db.session import Database, commit
from app.delivery.due import lease_due_deliveries
from tests.queue import RecordingSender
from tests.receivers import Hang, Receiver, Reply
from tests.services import PostgresServer, RedisServer
from tests.stack import HeraldStack
from tests.traffic import fetch_value, make_endpoint, make_tenant, publish_many

pytestmark = [pytest.mark.services, pytest.mark.slow]

SCHEDULERS = 6
BATCH = 40


async def lease_until_dry(database: Database, settings: Settings) -> list[str]:
    """Act as one scheduler: lease batches until none is left; the ids it leased."""
    sender = RecordingSender()
    database.sender = sender
    while True:
        async with database.session() as session:
            leased = await lease_due_deliveries(session, settings, utcnow(), BATCH)
            await commit(session)
        if not leased:
            return [delivery_id for job in sender.jobs for delivery_id in job.args[0]]
        await asyncio.sleep(0)


async def test_concurrent_schedulers_never_lease_a_delivery_twice(
    postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    # Given 600 due deliveries whose leases have lapsed, and no worker to take them
    stack = HeraldStack(postgres_server, redis_server, tmp_path, workers=0, schedulers=0)
    with stack:
        async with stack.client() as api:
            await make_tenant(api, "acme")
            for path in ("/a", "/b", "/c"):
                await make_endpoint(api, "acme", f"http://127.0.0.1:9{path}")
            report = await publish_many(api, "acme", 200, concurrency=8)
            assert report.statuses == {202: 200}
        dsn = stack.database_dsn
        await fetch_value(dsn, "UPDATE deliveries SET lease_until = now() - interval '1 s'")

        # When 6 schedulers, each with its own engine, lease concurrently in small batches
        settings = Settings(database_url=stack.env["HERALD_DATABASE_URL"], requeue_after_s=60)
        databases = [Database(settings.database_url) for _ in range(SCHEDULERS)]
        try:
            leased = await asyncio.gather(*(lease_until_dry(db, settings) for db in databases))
        finally:
            await asyncio.gather(*(db.dispose() for db in databases))

        # Then every delivery was leased exactly once, and the work was shared
        every = [delivery_id for ids in leased for delivery_id in ids]
        assert len(every) == 600
        assert len(set(every)) == 600
        assert sum(1 for ids in leased if ids) > 1, [len(ids) for ids in leased]


async def test_lease_of_a_worker_killed_mid_attempt_is_reclaimed(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    # Given a receiver that hangs on the first request, then answers 200
    receiver.script("/slow", Hang(30), then=Reply(200))
    timeout_s = 3
    stack = HeraldStack(
        postgres_server,
        redis_server,
        tmp_path,
        env={"HERALD_REQUEST_TIMEOUT": str(timeout_s), "HERALD_REQUEUE_AFTER": "2"},
    )
    with stack:
        async with stack.client() as api:
            await make_tenant(api, "acme")
            await make_endpoint(api, "acme", receiver.url("/slow"))
            report = await publish_many(api, "acme", 1, concurrency=1)
            [message_id] = report.accepted

            # When the worker is SIGKILLed while the attempt is in flight, then restarted
            await receiver.wait_for_async(1, timeout_s=10, path="/slow")
            await asyncio.to_thread(stack.kill_worker, 0)
            killed_at = asyncio.get_running_loop().time()
            await asyncio.to_thread(stack.start_worker, 0)

            # Then the lapsed lease is reclaimed and the delivery succeeds on a new attempt
            lease_s = 2 * timeout_s + 5  # the worker's claim lease (dispatch.claim_deliveries)
            await receiver.wait_for_async(2, timeout_s=lease_s + 10, path="/slow")
            reclaimed_s = asyncio.get_running_loop().time() - killed_at
            print(f"reclaimed {reclaimed_s:.1f} s after the kill (lease {lease_s} s)")
            requests = receiver.requests_to("/slow")
            assert {r.headers["webhook-id"] for r in requests} == {message_id}
            for _ in range(50):
                status = await fetch_value(
                    stack.database_dsn,
                    "SELECT status FROM deliveries WHERE message_id = $1",
                    message_id,
                )
                if status == "succeeded":
                    break
                await asyncio.sleep(0.1)
            assert status == "succeeded"
            # the killed attempt left no record: only the reclaimed one is logged
            attempts = await fetch_value(stack.database_dsn, "SELECT count(*) FROM attempts")
            assert attempts == 1
