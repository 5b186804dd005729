"""An endpoint, and a whole tenant, deleted while their attempts hang in flight, on
PostgreSQL + Redis with 2 worker processes: the recordings that find their deliveries
gone fail nothing, the batch-mates of another tenant are delivered and recorded exactly
once, and nothing of the deleted ones is sent again."""

import asyncio
from pathlib import Path

import pytest

from tests.receivers import Hang, Receiver
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

DOOMED = 20
KEPT = 300
HANG_S = 4.0  # every first attempt is in flight before any of them ends


async def test_deleting_mid_attempt_sends_nothing_twice(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    # Given a tenant whose endpoint hangs, another tenant whose endpoint hangs, and a
    # healthy tenant, all with messages being delivered by the same workers
    receiver.script("/endpoint-doomed", then=Hang(HANG_S))
    receiver.script("/tenant-doomed", then=Hang(HANG_S))
    stack = HeraldStack(postgres_server, redis_server, tmp_path, workers=2)
    with stack:
        async with stack.client() as api:
            await make_tenant(api, "one")
            doomed = await make_endpoint(api, "one", receiver.url("/endpoint-doomed"))
            await make_tenant(api, "two")
            await make_endpoint(api, "two", receiver.url("/tenant-doomed"))
            await make_tenant(api, "kept")
            await make_endpoint(api, "kept", receiver.url("/kept"))
            for tenant in ("one", "two"):
                report = await publish_many(api, tenant, DOOMED, concurrency=8)
                assert report.statuses == {202: DOOMED}, report.refusals[:3]
            kept = asyncio.create_task(publish_many(api, "kept", KEPT, concurrency=4))

            # When the endpoint and the other tenant are deleted while all their first
            # attempts hang
            await receiver.wait_for_async(DOOMED, timeout_s=HANG_S, path="/endpoint-doomed")
            await receiver.wait_for_async(DOOMED, timeout_s=HANG_S, path="/tenant-doomed")
            reply = await api.delete(f"/tenants/one/endpoints/{doomed}")
            assert reply.status_code == 204, reply.text
            reply = await api.delete("/tenants/two")
            assert reply.status_code == 204, reply.text
            in_flight = {
                path: len(receiver.requests_to(path))
                for path in ("/endpoint-doomed", "/tenant-doomed")
            }
            report = await kept

            # Then the healthy tenant gets everything, exactly once, all recorded
            assert report.statuses == {202: KEPT}, report.refusals[:3]
            await wait_for_receipts(receiver, expected(report.accepted, ["/kept"]), 30)
            await asyncio.sleep(2 * HANG_S + 1)  # the hanging requests end and are recorded
            assert set(receipts(receiver.requests_to("/kept")).values()) == {1}
            assert await settled_states(stack.database_dsn, KEPT) == {"succeeded": KEPT}
            # And nothing of the deleted ones was sent after the deletion, nor twice
            assert in_flight == {"/endpoint-doomed": DOOMED, "/tenant-doomed": DOOMED}
            for path in in_flight:
                assert set(receipts(receiver.requests_to(path)).values()) == {1}, path
            # And no delivery or attempt of theirs is left behind
            assert await fetch_value(stack.database_dsn, "SELECT count(*) FROM deliveries") == KEPT
            for worker in stack.workers:
                assert "Traceback" not in worker.log_text(), worker.tail()
