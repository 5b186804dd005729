"""One endpoint hanging to the timeout with a backlog of 1 000 must not starve a healthy
endpoint of another tenant: each healthy delivery lands within HEALTHY_BOUND_S of its
publish."""

import asyncio
import time
from pathlib import Path

import pytest

from tests.receivers import Hang, Receiver
from tests.services import PostgresServer, RedisServer
from tests.stack import HeraldStack
from tests.traffic import expected, make_endpoint, make_tenant, publish_many

pytestmark = [pytest.mark.services, pytest.mark.slow]

BACKLOG = 1000
HEALTHY = 100
TIMEOUT_S = 2
# The bound: a healthy delivery may wait for one request timeout of the hanging endpoint
# plus scheduling, never for the backlog (1 000 × 2 s ÷ 32 worker slots ≈ 60 s).
HEALTHY_BOUND_S = 2 * TIMEOUT_S + 1


async def test_hanging_endpoint_does_not_starve_a_healthy_one(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    # Given a tenant whose endpoint hangs past the request timeout, with 1 000 messages
    receiver.script("/hang", then=Hang(60))
    stack = HeraldStack(
        postgres_server,
        redis_server,
        tmp_path,
        workers=2,
        env={"HERALD_REQUEST_TIMEOUT": str(TIMEOUT_S), "HERALD_REQUEUE_AFTER": "10"},
    )
    with stack:
        async with stack.client() as api:
            await make_tenant(api, "noisy")
            await make_endpoint(api, "noisy", receiver.url("/hang"))
            await make_tenant(api, "quiet")
            await make_endpoint(api, "quiet", receiver.url("/ok"))
            backlog = await publish_many(api, "noisy", BACKLOG, concurrency=8)
            assert backlog.statuses == {202: BACKLOG}, backlog.refusals[:3]

            # When the healthy tenant publishes while the backlog is being worked
            published_at: dict[str, float] = {}
            for number in range(HEALTHY):
                reply = await api.post(
                    "/tenants/quiet/messages",
                    json={"event_type": "load.tested", "payload": {"n": number}},
                )
                assert reply.status_code == 202, reply.text
                published_at[reply.json()["id"]] = time.time()
                await asyncio.sleep(0.05)

            # Then each healthy delivery lands within the bound of its own publish
            wanted = expected(published_at, ["/ok"])
            await receiver.wait_for_async(HEALTHY, timeout_s=60, path="/ok")
            landed = {r.headers["webhook-id"]: r.received_at for r in receiver.requests_to("/ok")}
            assert {(message_id, "/ok") for message_id in landed} == wanted
            delays = sorted(landed[message_id] - at for message_id, at in published_at.items())
            hung = len(receiver.requests_to("/hang"))
            print(
                f"healthy delivery delay p50 {delays[len(delays) // 2]:.2f} s, max "
                f"{delays[-1]:.2f} s; {hung} requests reached the hanging endpoint meanwhile"
            )
            assert delays[-1] < HEALTHY_BOUND_S
