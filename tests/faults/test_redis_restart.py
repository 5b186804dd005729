"""Redis stopped and started again while publishing and delivering: publishing keeps
answering 202 (the database is the truth), and once Redis is back the scheduler enqueues
what the queue lost and the workers reconnect by themselves."""

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
    receipts,
    settled_states,
    wait_for_receipts,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

PATHS = ("/a", "/b")
RECOVERY_BOUND_S = 30


async def test_redis_restart_loses_nothing(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    # Given a running stack with 2 workers, delivering to 2 endpoints
    stack = HeraldStack(
        postgres_server, redis_server, tmp_path, workers=2, env={"HERALD_REQUEUE_AFTER": "3"}
    )
    with stack:
        async with stack.client() as api:
            await make_tenant(api, "acme")
            for path in PATHS:
                await make_endpoint(api, "acme", receiver.url(path))

            # When Redis is stopped mid-stream and started again 3 s later
            publishing = asyncio.create_task(
                publish_many(api, "acme", 400, concurrency=4, pause_s=0.02)
            )
            await asyncio.sleep(1.5)
            await asyncio.to_thread(redis_server.stop)
            await asyncio.sleep(3)
            await asyncio.to_thread(redis_server.start)
            restarted = asyncio.get_running_loop().time()
            report = await publishing

            # Then every publish was accepted, even while Redis was down
            assert report.statuses == {202: 400}, report.refusals[:3]
            # And everything is delivered within the bound after Redis is back
            wanted = expected(report.accepted, PATHS)
            await wait_for_receipts(receiver, wanted, timeout_s=RECOVERY_BOUND_S)
            recovery_s = asyncio.get_running_loop().time() - restarted
            print(f"all {len(wanted)} delivered {recovery_s:.1f} s after Redis restarted")
            assert await settled_states(stack.database_dsn, len(wanted)) == {
                "succeeded": len(wanted)
            }
            # And the workers that were running all along did the delivering again
            assert all(worker.alive for worker in stack.workers)


LIMITED_BACKLOG = 1000
RATE_PER_S = 100


async def test_redis_restart_with_a_limited_backlog_in_flight(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    # Given 1 000 messages queued for an endpoint limited to 100/s, draining, with claim
    # leases far longer than any bound here (so no recovery may wait one out)
    stack = HeraldStack(
        postgres_server,
        redis_server,
        tmp_path,
        workers=2,
        schedulers=2,
        env={"HERALD_REQUEST_TIMEOUT": "30", "HERALD_REQUEUE_AFTER": "60"},
    )
    with stack:
        async with stack.client() as api:
            await make_tenant(api, "acme")
            await make_endpoint(api, "acme", receiver.url("/limited"), rate_limit=RATE_PER_S)
            report = await publish_many(api, "acme", LIMITED_BACKLOG, concurrency=8)
            assert report.statuses == {202: LIMITED_BACKLOG}, report.refusals[:3]

            # When Redis (the lanes, their holdings and rate grids) is lost mid-drain and
            # comes back empty 3 s later
            await receiver.wait_for_async(200, timeout_s=30, path="/limited")
            await asyncio.to_thread(redis_server.stop)
            await asyncio.sleep(3)
            await asyncio.to_thread(redis_server.start)
            restarted = asyncio.get_running_loop().time()

            # Then the rest of the backlog arrives within its drain time and the bound
            left = LIMITED_BACKLOG - len(receiver.requests)
            wanted = expected(report.accepted, ["/limited"])
            await wait_for_receipts(
                receiver, wanted, timeout_s=left / RATE_PER_S + RECOVERY_BOUND_S
            )
            recovery_s = asyncio.get_running_loop().time() - restarted
            print(f"the last {left} arrived {recovery_s:.1f} s after Redis restarted")
            # And each arrived exactly once, recorded as succeeded
            await asyncio.sleep(1)
            assert set(receipts(receiver.requests).values()) == {1}
            assert await settled_states(stack.database_dsn, LIMITED_BACKLOG) == {
                "succeeded": LIMITED_BACKLOG
            }
            assert all(process.alive for process in stack.processes)
