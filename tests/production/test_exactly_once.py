"""2 000 messages × 3 endpoints through 2 worker processes and 2 schedulers: each
delivery lands exactly once (by webhook-id and endpoint path)."""

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

MESSAGES = 2000
PATHS = ("/a", "/b", "/c")


async def test_every_delivery_lands_exactly_once(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    # Given Herald with 2 worker processes and 2 schedulers, and a tenant with 3 endpoints
    stack = HeraldStack(
        postgres_server,
        redis_server,
        tmp_path,
        workers=2,
        schedulers=2,
        # Queued jobs may wait behind the burst: a short requeue-after would only add
        # redundant jobs (harmless, but slower), so give the queue time to drain.
        env={"HERALD_REQUEUE_AFTER": "30"},
    )
    with stack:
        async with stack.client() as api:
            await make_tenant(api, "acme")
            for path in PATHS:
                await make_endpoint(api, "acme", receiver.url(path))

            # When 2 000 messages are published concurrently
            report = await publish_many(api, "acme", MESSAGES, concurrency=8)
            assert report.statuses == {202: MESSAGES}, report.refusals[:3]

            # Then every (message, endpoint) arrives...
            wanted = expected(report.accepted, PATHS)
            drained_s = await wait_for_receipts(receiver, wanted, timeout_s=120)
            total_s = report.elapsed_s + drained_s
            print(
                f"published {MESSAGES} in {report.elapsed_s:.1f} s ({report.rate_per_s:.0f}/s); "
                f"{len(wanted)} deliveries done {total_s:.1f} s after the first publish "
                f"({len(wanted) / total_s:.0f}/s end to end)"
            )
            # ... and nothing arrives twice, even after leases could have lapsed
            await asyncio.sleep(3)
            counts = receipts(receiver.requests)
            assert set(counts) == wanted
            duplicates = {key: n for key, n in counts.items() if n > 1}
            assert duplicates == {}, f"{len(duplicates)} delivered more than once"
            assert await settled_states(stack.database_dsn, len(wanted)) == {
                "succeeded": len(wanted)
            }
