"""``/readyz`` names the dependency that is down, or ``delivery_lag`` when a delivery
Herald is free to send waits too long (503, the contract's error shape), and recovers to
200 by itself; ``/metrics`` exposes the delivery lag."""

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.receivers import Receiver
from tests.services import PostgresServer, RedisServer
from tests.stack import HeraldStack
from tests.traffic import make_endpoint, make_tenant, publish_many

pytestmark = [pytest.mark.services, pytest.mark.slow]


def wait_for_status(stack: HeraldStack, status: int, timeout_s: float = 15) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while (reply := stack.readyz()).status_code != status:
        assert time.monotonic() < deadline, f"/readyz stayed {reply.status_code}: {reply.text}"
        time.sleep(0.2)
    return reply


def assert_names_culprit(
    reply: httpx.Response, culprit: str, healthy: str, verdict: str = "unavailable: "
) -> None:
    body = reply.json()
    assert body["code"] == "service_unavailable"
    assert isinstance(body["detail"], str) and culprit in body["detail"]
    assert body["checks"][culprit].startswith(verdict)
    assert body["checks"][healthy] == "ok"


def gauge(stack: HeraldStack, name: str) -> float:
    """The value of the unlabelled metric ``name`` in a fresh scrape."""
    text = httpx.get(f"{stack.base_url}/metrics", timeout=10).text
    [line] = [line for line in text.splitlines() if line.split(" ", 1)[0] == name]
    return float(line.split()[1])


def lag_seconds(stack: HeraldStack) -> float:
    return gauge(stack, "herald_delivery_lag_seconds")


async def test_readyz_names_the_dependency_that_is_down(
    postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    # Given a ready stack
    stack = HeraldStack(postgres_server, redis_server, tmp_path, workers=0, schedulers=0)
    with stack:
        assert stack.readyz().json()["checks"] == {
            "database": "ok",
            "broker": "ok",
            "delivery_lag": "ok",
        }

        # When Redis is down, then back
        await asyncio.to_thread(redis_server.stop)
        try:
            reply = await asyncio.to_thread(wait_for_status, stack, 503)
            assert_names_culprit(reply, culprit="broker", healthy="database")
        finally:
            await asyncio.to_thread(redis_server.start)
        await asyncio.to_thread(wait_for_status, stack, 200)

        # When PostgreSQL is down, then back
        await asyncio.to_thread(postgres_server.stop)
        try:
            reply = await asyncio.to_thread(wait_for_status, stack, 503)
            assert_names_culprit(reply, culprit="database", healthy="broker")
            # a check that cannot run says so; /readyz itself still answers
            assert reply.json()["checks"]["delivery_lag"].startswith("unavailable: ")
        finally:
            await asyncio.to_thread(postgres_server.start)
        await asyncio.to_thread(wait_for_status, stack, 200)


async def test_metrics_expose_the_delivery_lag(
    postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    # Given a stack with no worker at all, so nothing gets delivered
    stack = HeraldStack(postgres_server, redis_server, tmp_path, workers=0, schedulers=0)
    with stack:
        assert await asyncio.to_thread(lag_seconds, stack) == 0.0
        async with stack.client() as api:
            await make_tenant(api, "acme")
            await make_endpoint(api, "acme", "http://127.0.0.1:9/stalled")

            # When a message is published and waits
            report = await publish_many(api, "acme", 1, concurrency=1)
            assert report.statuses == {202: 1}
            await asyncio.sleep(1.5)

        # Then the lag is the age of the oldest due delivery
        assert 1.0 <= await asyncio.to_thread(lag_seconds, stack) < 30


async def test_readyz_names_the_delivery_lag_of_live_endpoints_only(
    postgres_server: PostgresServer, redis_server: RedisServer, receiver: Receiver, tmp_path: Path
) -> None:
    # Given a stack that tolerates 1 s of lag, its one worker stopped, and a tenant whose
    # endpoints hold their deliveries back: one paused, one rate-limited
    stack = HeraldStack(
        postgres_server,
        redis_server,
        tmp_path,
        workers=1,
        schedulers=0,
        env={"HERALD_READY_MAX_LAG_S": "1"},
    )
    with stack:
        stack.kill_worker(0)
        async with stack.client() as api:
            await make_tenant(api, "held")
            paused = await make_endpoint(api, "held", receiver.url("/paused"))
            reply = await api.patch(f"/tenants/held/endpoints/{paused}", json={"paused": True})
            assert reply.status_code == 200, reply.text
            await make_endpoint(api, "held", receiver.url("/limited"), rate_limit=1)
            await make_tenant(api, "live")
            await make_endpoint(api, "live", receiver.url("/live"))

            # When the held endpoints' deliveries wait well past the bound
            assert (await publish_many(api, "held", 1, concurrency=1)).statuses == {202: 1}
            await asyncio.sleep(3)

            # Then they are held, not late: Herald stays ready
            assert await asyncio.to_thread(gauge, stack, "herald_deliveries_held") == 2
            reply = await asyncio.to_thread(stack.readyz)
            assert reply.status_code == 200, reply.text
            assert reply.json()["checks"]["delivery_lag"] == "ok"

            # When a live endpoint's delivery waits past the bound
            assert (await publish_many(api, "live", 1, concurrency=1)).statuses == {202: 1}

            # Then /readyz is 503 naming delivery_lag, its dependencies fine
            reply = await asyncio.to_thread(wait_for_status, stack, 503)
            assert_names_culprit(
                reply, culprit="delivery_lag", healthy="database", verdict="late: "
            )
            assert reply.json()["checks"]["broker"] == "ok"

        # When the worker is back and delivers it, Herald is ready again
        await asyncio.to_thread(stack.start_worker, 0)
        await receiver.wait_for_async(1, timeout_s=30, path="/live")
        await asyncio.to_thread(wait_for_status, stack, 200, 30)
