"""A worker process SIGKILLed again and again while messages flow: nothing is lost."""

import asyncio
from pathlib import Path

import pytest

from tests.receivers import Receiver
from tests.services import PostgresServer, RedisServer
from tests.stack import HeraldStack
from tests.traffic import (
    expected,
    make_endpoint,
    make_tenant,
    publish_many,
    settled_states,
    wait_for_receipts,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

PATHS = ("/a", "/b")
KILLS = 3


async def test_repeatedly_killed_worker_loses_nothing(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    # Given 2 workers (leases held by a killed one lapse after 2 × timeout + 5 s = 7 s)
    stack = HeraldStack(
        postgres_server,
        redis_server,
        tmp_path,
        workers=2,
        env={"HERALD_REQUEST_TIMEOUT": "1", "HERALD_REQUEUE_AFTER": "3"},
    )
    with stack:
        async with stack.client() as api:
            await make_tenant(api, "acme")
            for path in PATHS:
                await make_endpoint(api, "acme", receiver.url(path))

            # When messages are published while worker 0 is SIGKILLed and restarted 3 times
            publishing = asyncio.create_task(
                publish_many(api, "acme", 600, concurrency=4, pause_s=0.02)
            )
            for _ in range(KILLS):
                await asyncio.sleep(1.5)
                await asyncio.to_thread(stack.kill_worker, 0)
                await asyncio.to_thread(stack.start_worker, 0)
            report = await publishing

            # Then every accepted message reaches both endpoints (at least once)
            assert report.statuses == {202: 600}, report.refusals[:3]
            wanted = expected(report.accepted, PATHS)
            recovered_s = await wait_for_receipts(receiver, wanted, timeout_s=60)
            print(f"all {len(wanted)} delivered {recovered_s:.1f} s after publishing ended")
            assert await settled_states(stack.database_dsn, len(wanted)) == {
                "succeeded": len(wanted)
            }
