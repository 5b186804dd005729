"""Fair delivery on PostgreSQL + Redis with 2 worker processes: a rate-limited backlog,
a held backlog or a big tenant's burst never stands in anyone else's way.

- Starvation: an endpoint limited to 20/s with 1 000 queued, beside another tenant's
  fresh messages (each within ``FRESH_BOUND_S`` of its publish) and a paused endpoint
  sharing the same 1 000 messages (all of them within ``RESUMED_BOUND_S`` of the resume).
- Fairness: while a big tenant's backlog of thousands drains, a small tenant's trickle
  keeps close to its idle latency (the bound is stated at ``busy_bound_s``).
"""

import asyncio
import statistics
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

LIMITED_BACKLOG = 1000
FRESH = 100
FRESH_BOUND_S = 3.0
RESUMED_BOUND_S = 15.0
BIG_BACKLOG = 8000  # drains for seconds after the trickle ends, at ~2 000/s
TRICKLE = 30
TRICKLE_EVERY_S = 0.05


async def trickle(
    api: httpx.AsyncClient, tenant: str, count: int, first: int = 0
) -> dict[str, float]:
    """Publish ``count`` messages one at a time, ``TRICKLE_EVERY_S`` apart; when each
    was accepted (wall clock, as the receiver stamps arrivals), by message id."""
    accepted: dict[str, float] = {}
    for number in range(first, first + count):
        reply = await api.post(
            f"/tenants/{tenant}/messages", json={"event_type": EVENT_TYPE, "payload": {"n": number}}
        )
        assert reply.status_code == 202, reply.text
        accepted[reply.json()["id"]] = time.time()
        await asyncio.sleep(TRICKLE_EVERY_S)
    return accepted


async def latencies(receiver: Receiver, path: str, accepted: dict[str, float]) -> list[float]:
    """Seconds from each publish to its arrival at ``path``, sorted (waits for all)."""
    await wait_for_receipts(receiver, expected(accepted, [path]), timeout_s=30)
    landed = {r.headers["webhook-id"]: r.received_at for r in receiver.requests_to(path)}
    return sorted(landed[message_id] - at for message_id, at in accepted.items())


def p95(values: list[float]) -> float:
    return values[max(0, round(0.95 * len(values)) - 1)]


async def test_a_rate_limited_backlog_starves_no_one(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    # Given a tenant with 1 000 messages for an endpoint limited to 20/s and for a paused
    # endpoint, and another tenant with a healthy endpoint
    stack = HeraldStack(postgres_server, redis_server, tmp_path, workers=2)
    with stack:
        async with stack.client() as api:
            await make_tenant(api, "slow")
            await make_endpoint(api, "slow", receiver.url("/limited"), rate_limit=20)
            held = await make_endpoint(api, "slow", receiver.url("/held"), paused=True)
            await make_tenant(api, "fresh")
            await make_endpoint(api, "fresh", receiver.url("/fresh"))
            backlog = await publish_many(api, "slow", LIMITED_BACKLOG, concurrency=8)
            assert backlog.statuses == {202: LIMITED_BACKLOG}, backlog.refusals[:3]

            # When the other tenant publishes while the limited backlog drains at 20/s
            fresh = await latencies(receiver, "/fresh", await trickle(api, "fresh", FRESH))
            # Then each of its messages arrives within the bound of its publish
            print(
                f"fresh beside the limited backlog: p50 {fresh[len(fresh) // 2]:.3f} s, "
                f"max {fresh[-1]:.3f} s"
            )
            assert fresh[-1] < FRESH_BOUND_S

            # And when the paused endpoint is resumed, its 1 000 arrive within the bound
            reply = await api.patch(f"/tenants/slow/endpoints/{held}", json={"paused": False})
            assert reply.status_code == 200, reply.text
            took_s = await wait_for_receipts(
                receiver, expected(backlog.accepted, ["/held"]), timeout_s=RESUMED_BOUND_S
            )
            limited = len(receiver.requests_to("/limited"))
            print(
                f"{LIMITED_BACKLOG} held deliveries arrived {took_s:.1f} s after the resume; "
                f"the limited endpoint had {limited} meanwhile"
            )
            assert limited < LIMITED_BACKLOG, "the limited backlog was not draining meanwhile"
            held_receipts = receipts(receiver.requests_to("/held"))
            assert set(held_receipts.values()) == {1}


async def test_a_big_backlog_does_not_slow_a_small_tenant(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    # Given a big tenant with 8 000 messages held by its paused endpoint, and a small
    # tenant whose latency when idle is measured first
    stack = HeraldStack(postgres_server, redis_server, tmp_path, workers=2)
    with stack:
        async with stack.client() as api:
            await make_tenant(api, "big")
            big = await make_endpoint(api, "big", receiver.url("/big"), paused=True)
            await make_tenant(api, "small")
            await make_endpoint(api, "small", receiver.url("/small"))
            backlog = await publish_many(api, "big", BIG_BACKLOG, concurrency=8)
            assert backlog.statuses == {202: BIG_BACKLOG}, backlog.refusals[:3]
            idle = await latencies(receiver, "/small", await trickle(api, "small", TRICKLE))

            # When the big backlog is released at once and the small tenant trickles on
            reply = await api.patch(f"/tenants/big/endpoints/{big}", json={"paused": False})
            assert reply.status_code == 200, reply.text
            await receiver.wait_for_async(200, timeout_s=20, path="/big")
            accepted = await trickle(api, "small", TRICKLE, first=TRICKLE)
            big_when_trickle_ended = len(receiver.requests_to("/big"))
            busy = await latencies(receiver, "/small", accepted)
            await wait_for_receipts(receiver, expected(backlog.accepted, ["/big"]), timeout_s=60)

            # Then the small tenant's latency stays within the bound of its idle latency
            busy_bound_s = 2 * p95(idle) + 0.25
            print(
                f"small tenant p50/p95 idle {statistics.median(idle) * 1000:.0f}/"
                f"{p95(idle) * 1000:.0f} ms, beside the big drain "
                f"{statistics.median(busy) * 1000:.0f}/{p95(busy) * 1000:.0f} ms "
                f"(bound {busy_bound_s * 1000:.0f} ms); the big tenant had "
                f"{big_when_trickle_ended} of {BIG_BACKLOG} when the trickle ended"
            )
            assert big_when_trickle_ended < BIG_BACKLOG, "the trickle outlived the drain"
            assert p95(busy) <= busy_bound_s
            assert busy[-1] <= busy_bound_s + 1.0
            # And nothing of either tenant arrived twice
            assert set(receipts(receiver.requests).values()) == {1}
            assert await settled_states(stack.database_dsn, BIG_BACKLOG + 2 * TRICKLE) == {
                "succeeded": BIG_BACKLOG + 2 * TRICKLE
            }
