"""A receiver that answers 500 to every other request: every delivery still succeeds."""

from pathlib import Path

import pytest

from tests.receivers import ReceivedRequest, Receiver, Reply
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
MESSAGES = 300
ATTEMPTS = 30


def answered_200(receiver: Receiver) -> list[ReceivedRequest]:
    """The requests the script answered 200: the 2nd, 4th, ... of each path."""
    return [request for path in PATHS for request in receiver.requests_to(path)[1::2]]


async def test_half_failing_receiver_gets_everything(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    # Given endpoints that alternate 500 and 200, whatever is being sent
    for path in PATHS:
        receiver.script(path, *[Reply(500, b"flaky"), Reply(200)] * (4 * MESSAGES))
    # Each attempt fails with odds of about 1/2, so give every delivery 30 attempts: the
    # chance that one of 600 is exhausted is then about 600 / 2**30.
    retries = ",".join(["0"] + ["1"] * (ATTEMPTS - 1))
    stack = HeraldStack(
        postgres_server, redis_server, tmp_path, workers=2, env={"HERALD_RETRY_SCHEDULE": retries}
    )
    with stack:
        async with stack.client() as api:
            await make_tenant(api, "acme")
            for path in PATHS:
                await make_endpoint(api, "acme", receiver.url(path))

            # When messages are published
            report = await publish_many(api, "acme", MESSAGES, concurrency=4)
            assert report.statuses == {202: MESSAGES}, report.refusals[:3]

            # Then every delivery is eventually answered 200 (retried after each 500)
            wanted = expected(report.accepted, PATHS)
            took_s = await wait_for_receipts(receiver, wanted, 60, successful=answered_200)
            print(f"{len(wanted)} deliveries through a 50 % failing receiver in {took_s:.1f} s")
            assert len(receiver.requests) >= 2 * len(wanted) - len(PATHS)
            assert await settled_states(stack.database_dsn, len(wanted)) == {
                "succeeded": len(wanted)
            }
