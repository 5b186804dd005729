"""PostgreSQL stopped during publishing: publish answers 503 in the contract's error
shape (never a 500), nothing is half-written, and everything accepted is delivered."""

import asyncio
from pathlib import Path

import pytest

from tests.receivers import Receiver
from tests.services import PostgresServer, RedisServer
from tests.stack import HeraldStack
from tests.traffic import (
    expected,
    fetch_value,
    make_endpoint,
    make_tenant,
    publish_many,
    receipts,
    settled_states,
    wait_for_receipts,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

PATHS = ("/a", "/b")


async def test_postgres_outage_refuses_cleanly_and_loses_nothing(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    # Given a running stack delivering to 2 endpoints
    stack = HeraldStack(postgres_server, redis_server, tmp_path, env={"HERALD_REQUEUE_AFTER": "3"})
    with stack:
        async with stack.client(timeout_s=20) as api:
            await make_tenant(api, "acme")
            for path in PATHS:
                await make_endpoint(api, "acme", receiver.url(path))

            # When PostgreSQL is stopped mid-stream for 3 s
            publishing = asyncio.create_task(
                publish_many(api, "acme", 400, concurrency=4, pause_s=0.02)
            )
            await asyncio.sleep(1.5)
            await asyncio.to_thread(postgres_server.stop)
            await asyncio.sleep(3)
            await asyncio.to_thread(postgres_server.start)
            report = await publishing

            # Then publish answered 202 or 503 with the error shape, never anything else
            assert set(report.statuses) <= {202, 503}, report.statuses
            assert report.statuses[503] > 0, "the outage was not seen"
            for _status, body in report.refusals:
                assert body["code"] == "service_unavailable", body
                assert isinstance(body["detail"], str) and body["detail"]
            print(f"publish replies across the outage: {dict(report.statuses)}")

            # And every accepted message is delivered to both endpoints
            wanted = expected(report.accepted, PATHS)
            await wait_for_receipts(receiver, wanted, timeout_s=30)

        # And nothing is half-written: every stored message has both its deliveries, and
        # a refused publish that committed anyway (reply lost) is delivered all the same
        dsn = stack.database_dsn
        stored = await fetch_value(dsn, "SELECT count(*) FROM messages")
        assert await fetch_value(dsn, "SELECT count(*) FROM deliveries") == 2 * stored
        assert stored >= len(report.accepted)
        await asyncio.sleep(1)
        assert len({key for key in receipts(receiver.requests)}) == 2 * stored
        assert await settled_states(dsn, 2 * stored) == {"succeeded": 2 * stored}
