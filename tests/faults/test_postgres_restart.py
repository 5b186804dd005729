"""PostgreSQL crashing and coming back (``pg_ctl stop -m immediate``, then start) under a
running stack of 2 workers and 2 schedulers: no process needs a restart, nobody waits
out a lease (the lease here is a minute, far longer than any bound), and the receiver's
count is exact. (The cluster is a durable one: a crash keeps what was committed.)

- Five restarts in a row: during each outage ``/readyz`` names the database and publish
  answers 503; after each, a new message arrives within ``NEW_MESSAGE_BOUND_S`` of its
  publish.
- A restart while a backlog drains: every delivery arrives within ``DUE_BOUND_S`` of the
  database's return, each exactly once.
"""

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.receivers import Receiver
from tests.services import PostgresServer, RedisServer
from tests.stack import HeraldStack
from tests.traffic import (
    EVENT_TYPE,
    expected,
    make_endpoint,
    make_tenant,
    publish_many,
    receipts,
    settled_states,
    wait_for_receipts,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

RESTARTS = 5
OUTAGE_S = 2.0
NEW_MESSAGE_BOUND_S = 5.0
DUE_BOUND_S = 15.0
BACKLOG = 2000
# Leases far longer than the bounds (a claim's is twice the request timeout and 5 s):
# recovering by waiting one out would fail the test.
ENV = {"HERALD_REQUEST_TIMEOUT": "30", "HERALD_REQUEUE_AFTER": "60"}


async def publish_once(api: httpx.AsyncClient, number: int) -> httpx.Response:
    return await api.post(
        "/tenants/acme/messages", json={"event_type": EVENT_TYPE, "payload": {"n": number}}
    )


async def publish_after_restart(api: httpx.AsyncClient, number: int) -> tuple[str, float]:
    """Publish as a producer would once the database is back: its id and when it was
    accepted. The first try must already be accepted (no stale connection may answer)."""
    reply = await publish_once(api, number)
    assert reply.status_code == 202, reply.text
    return reply.json()["id"], time.monotonic()


async def test_repeated_postgres_restarts_recover_in_seconds(
    durable_postgres_server: PostgresServer,
    redis_server: RedisServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    # Given a stack with 2 workers and 2 schedulers that has delivered a first message
    postgres_server = durable_postgres_server
    stack = HeraldStack(postgres_server, redis_server, tmp_path, workers=2, schedulers=2, env=ENV)
    with stack:
        async with stack.client(timeout_s=20) as api:
            await make_tenant(api, "acme")
            await make_endpoint(api, "acme", receiver.url("/a"))
            first, _ = await publish_after_restart(api, 0)
            await wait_for_receipts(receiver, {(first, "/a")}, timeout_s=10)
            accepted = [first]

            for round_number in range(1, RESTARTS + 1):
                # When PostgreSQL crashes
                await asyncio.to_thread(postgres_server.stop, "immediate")
                if round_number % 2:
                    # Then /readyz names the database and publish is refused with 503
                    ready = await asyncio.to_thread(stack.readyz)
                    assert ready.status_code == 503, ready.text
                    assert ready.json()["checks"]["database"].startswith("unavailable")
                    refused = await publish_once(api, -round_number)
                    assert refused.status_code == 503, refused.text
                    assert refused.json()["code"] == "service_unavailable"
                # (in even rounds no request meets the outage: the API's first request
                # after it must not meet a stale connection either)
                await asyncio.sleep(OUTAGE_S)

                # And once it is back, a new message arrives within the bound
                await asyncio.to_thread(postgres_server.start)
                message_id, accepted_at = await publish_after_restart(api, round_number)
                accepted.append(message_id)
                await wait_for_receipts(
                    receiver, {(message_id, "/a")}, timeout_s=NEW_MESSAGE_BOUND_S
                )
                print(
                    f"restart {round_number}: delivered "
                    f"{time.monotonic() - accepted_at:.2f} s after its publish"
                )

            # And every process lived through it all, and each message arrived once
            assert all(process.alive for process in stack.processes)
            await asyncio.sleep(1)
            arrived = receipts(receiver.requests)
            assert set(arrived) == expected(accepted, ["/a"])
            assert set(arrived.values()) == {1}, arrived
            assert await settled_states(stack.database_dsn, len(accepted)) == {
                "succeeded": len(accepted)
            }


async def test_postgres_restart_while_a_backlog_drains(
    durable_postgres_server: PostgresServer,
    redis_server: RedisServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    # Given a backlog of 2 000 messages held by a paused endpoint
    postgres_server = durable_postgres_server
    stack = HeraldStack(postgres_server, redis_server, tmp_path, workers=2, schedulers=2, env=ENV)
    with stack:
        async with stack.client(timeout_s=20) as api:
            await make_tenant(api, "acme")
            endpoint = await make_endpoint(api, "acme", receiver.url("/a"), paused=True)
            report = await publish_many(api, "acme", BACKLOG, concurrency=8)
            assert report.statuses == {202: BACKLOG}, report.refusals[:3]

            # When it is resumed and PostgreSQL crashes while the backlog drains
            reply = await api.patch(f"/tenants/acme/endpoints/{endpoint}", json={"paused": False})
            assert reply.status_code == 200, reply.text
            await receiver.wait_for_async(100, timeout_s=20, path="/a")
            await asyncio.to_thread(postgres_server.stop, "immediate")
            during = len(receiver.requests)
            await asyncio.sleep(OUTAGE_S)
            await asyncio.to_thread(postgres_server.start)
            back_at = time.monotonic()

            # Then the whole backlog arrives within the bound of the database's return
            wanted = expected(report.accepted, ["/a"])
            await wait_for_receipts(receiver, wanted, timeout_s=DUE_BOUND_S)
            print(
                f"{during} of {BACKLOG} had arrived when PostgreSQL stopped; all arrived "
                f"{time.monotonic() - back_at:.1f} s after it came back"
            )
            # And each exactly once, recorded as succeeded
            await asyncio.sleep(1)
            arrived = receipts(receiver.requests)
            assert set(arrived.values()) == {1}, arrived.most_common(3)
            assert await settled_states(stack.database_dsn, BACKLOG) == {"succeeded": BACKLOG}
            assert all(process.alive for process in stack.processes)
