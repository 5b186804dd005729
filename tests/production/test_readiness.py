"""``/readyz`` names the dependency that is down (503, the contract's error shape) and
recovers to 200 by itself; ``/metrics`` exposes the delivery lag."""

import asyncio
import time
from pathlib import Path

import httpx
import pytest

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


def assert_names_culprit(reply: httpx.Response, culprit: str, healthy: str) -> None:
    body = reply.json()
    assert body["code"] == "service_unavailable"
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["checks"][culprit].startswith("unavailable")
    assert body["checks"][healthy] == "ok"


def lag_seconds(stack: HeraldStack) -> float:
    text = httpx.get(f"{stack.base_url}/metrics", timeout=10).text
    [line] = [line for line in text.splitlines() if line.startswith("herald_delivery_lag_seconds")]
    return float(line.split()[1])


async def test_readyz_names_the_dependency_that_is_down(
    postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    # Given a ready stack
    stack = HeraldStack(postgres_server, redis_server, tmp_path, workers=0, schedulers=0)
    with stack:
        assert stack.readyz().json()["checks"] == {"database": "ok", "broker": "ok"}

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
