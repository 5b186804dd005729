"""Leases on PostgreSQL: workers claiming the same lanes at once never lease a delivery
twice (SKIP LOCKED), and a lease held by a worker killed mid-attempt is reclaimed."""

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from app.config import Settings
from app.db.base import utcnow
from app.db.models import Endpoint
from app.db.session import Database, commit
from app.delivery.claim import claim_grants
from app.delivery.keycache import SigningKeyCache
from app.delivery.lanes import Grant
from app.secretbox import secret_box_for
from tests.receivers import Hang, Receiver, Reply
from tests.services import PostgresServer, RedisServer
from tests.stack import HeraldStack
from tests.traffic import fetch_value, make_endpoint, make_tenant, publish_many

pytestmark = [pytest.mark.services, pytest.mark.slow]

WORKERS = 6
GRANT = 7


async def claim_until_dry(database: Database, settings: Settings) -> list[str]:
    """Act as one worker granted all three lanes again and again until it claims
    nothing; the ids it leased."""
    box = secret_box_for(settings)
    assert box is not None
    keys = SigningKeyCache(box)
    async with database.session() as session:
        endpoints = (await session.scalars(select(Endpoint))).all()
    claimed: list[str] = []
    while True:
        grants = [Grant(e.id, e.tenant_id, GRANT, version=0) for e in endpoints]
        async with database.session(autocommit=True) as session:
            outcomes = await claim_grants(session, settings, keys, grants, utcnow())
            await commit(session)
        taken = [item.delivery.id for items, _ in outcomes for item in items]
        if not taken:
            return claimed
        claimed += taken
        await asyncio.sleep(0)


async def test_concurrent_claims_never_lease_a_delivery_twice(
    postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    # Given 600 due deliveries on three endpoints, and no worker to take them
    stack = HeraldStack(postgres_server, redis_server, tmp_path, workers=0, schedulers=0)
    with stack:
        async with stack.client() as api:
            await make_tenant(api, "acme")
            for path in ("/a", "/b", "/c"):
                await make_endpoint(api, "acme", f"http://127.0.0.1:9{path}")
            report = await publish_many(api, "acme", 200, concurrency=8)
            assert report.statuses == {202: 200}

        # When 6 workers, each with its own engine, claim the same lanes at once
        settings = Settings(
            database_url=stack.env["HERALD_DATABASE_URL"], secret_key=stack.env["HERALD_SECRET_KEY"]
        )
        databases = [Database(settings.database_url) for _ in range(WORKERS)]
        try:
            claimed = await asyncio.gather(*(claim_until_dry(db, settings) for db in databases))
        finally:
            await asyncio.gather(*(db.dispose() for db in databases))

        # Then every delivery was leased exactly once, and the work was shared
        every = [delivery_id for ids in claimed for delivery_id in ids]
        assert len(every) == 600
        assert len(set(every)) == 600
        assert sum(1 for ids in claimed if ids) > 1, [len(ids) for ids in claimed]


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
        env={"HERALD_REQUEST_TIMEOUT": str(timeout_s)},
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
            lease_s = 2 * timeout_s + 5  # the claim lease (claim.new_lease)
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
