"""Redis stopped and started again while publishing and delivering: publishing keeps
answering 202 (the database is the truth), and once Redis is back the scheduler enqueues
what the queue lost and the workers reconnect by themselves."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.receivers import Receiver, Reply
from tests.services import PostgresServer, RedisServer
from tests.stack import HeraldStack
from tests.traffic import (
    delivery_states,
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


REPLAYED = 20
REPLAY_BOUND_S = 15  # far below the minute after which a stalled replay is resumed anyway


async def wait_until(read: Any, wanted: object, timeout_s: float = 20) -> None:
    """Poll ``await read()`` until it equals ``wanted``; AssertionError after the timeout."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while (value := await read()) != wanted:
        assert asyncio.get_running_loop().time() < deadline, value
        await asyncio.sleep(0.2)


async def test_a_replay_job_lost_with_redis_is_resumed_at_once(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    # Given 20 exhausted deliveries (one attempt each, answered 500), and a replay of
    # them queued in Redis while no worker runs; a stalled replay is otherwise resumed
    # only after a minute
    receiver.script("/flaky", *[Reply(500)] * REPLAYED)
    stack = HeraldStack(
        postgres_server,
        redis_server,
        tmp_path,
        env={
            "HERALD_RETRY_SCHEDULE": "0",
            "HERALD_REQUEUE_AFTER": "60",
            "HERALD_CIRCUIT_THRESHOLD": "1000",  # the 500s must not open its circuit
        },
    )
    with stack:
        async with stack.client() as api:
            since = datetime.now(UTC) - timedelta(minutes=1)
            await make_tenant(api, "acme")
            await make_endpoint(api, "acme", receiver.url("/flaky"))
            report = await publish_many(api, "acme", REPLAYED, concurrency=4)
            await receiver.wait_for_async(REPLAYED, timeout_s=30, path="/flaky")
            await wait_until(
                lambda: delivery_states(stack.database_dsn),
                {"exhausted": REPLAYED},
            )
            stack.kill_worker(0)
            replay = await api.post(
                "/replays", json={"since": since.isoformat(), "status": ["exhausted"]}
            )
            assert replay.status_code == 202, replay.text

            # When Redis restarts empty, losing the job, and a worker comes back
            await asyncio.to_thread(redis_server.stop)
            await asyncio.sleep(1)
            await asyncio.to_thread(redis_server.start)
            restarted = asyncio.get_running_loop().time()
            stack.start_worker(0)

            # Then the replay runs within seconds, and every delivery arrives once more
            await receiver.wait_for_async(2 * REPLAYED, timeout_s=REPLAY_BOUND_S, path="/flaky")
            took_s = asyncio.get_running_loop().time() - restarted
            print(f"the lost replay ran {took_s:.1f} s after Redis restarted")
            assert await settled_states(stack.database_dsn, REPLAYED) == {"succeeded": REPLAYED}
            arrived = receipts(receiver.requests_to("/flaky"))
            assert set(arrived) == expected(report.accepted, ["/flaky"])
            assert set(arrived.values()) == {2}
