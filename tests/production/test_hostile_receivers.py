"""Hostile receivers on PostgreSQL: endpoints answering NUL bytes, invalid UTF-8, a 5 MB
body, a body that never ends and 100 KB of headers, each beside a healthy endpoint of the
same tenant and of another tenant. Every attempt is recorded, once, as text PostgreSQL
accepts (at most 16 KiB of body), and every healthy delivery lands exactly once."""

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest

from app.delivery.client import RESPONSE_BODY_LIMIT_BYTES
from tests.receivers import (
    Behaviour,
    EndlessBody,
    HugeBody,
    HugeHeaders,
    Receiver,
    Reply,
)
from tests.services import PostgresServer, RedisServer
from tests.stack import HeraldStack
from tests.traffic import (
    delivery_states,
    expected,
    make_endpoint,
    make_tenant,
    publish_many,
    receipts,
    wait_for_receipts,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

MESSAGES = 5  # per tenant
RETRY_SCHEDULE = "0,1,1"  # three attempts for each failing delivery, about 2 s apart
ATTEMPTS = 3
# Every delivery settles within a few retry rounds of 2 s timeouts; the bound is loose for
# a loaded 2-core machine.
SETTLE_TIMEOUT_S = 90.0
QUIET_S = 3.0  # how long nothing more may arrive once everything has settled
LIMIT = RESPONSE_BODY_LIMIT_BYTES

NUL_BODY = b"\x00" * 64 + b"after the NULs"
INVALID_UTF8_BODY = b"caf\xc3\xa9 \xff\xfe\xed\xa0\x80 \xc3"
NUL_BODY_STORED = "\ufffd" * 64 + "after the NULs"


class Stored(NamedTuple):
    """What each attempt row of a hostile endpoint holds."""

    response_status_code: int | None
    response_body: str
    error_kind: str | None
    error: str | None


FAILED_500 = ("http_status", "HTTP 500")
# Each hostile path: how it answers, and what each of its attempt rows stores.
HOSTILE: dict[str, tuple[Behaviour, Stored]] = {
    "/nul": (Reply(500, NUL_BODY), Stored(500, NUL_BODY_STORED, *FAILED_500)),
    "/nul-ok": (Reply(200, NUL_BODY), Stored(200, NUL_BODY_STORED, None, None)),
    "/invalid-utf8": (
        Reply(500, INVALID_UTF8_BODY),
        Stored(500, "caf\u00e9 \ufffd\ufffd\ufffd\ufffd\ufffd \ufffd", *FAILED_500),
    ),
    "/5mb": (
        HugeBody(size_bytes=5 * 1024 * 1024, status=500),
        Stored(500, "y" * LIMIT, *FAILED_500),
    ),
    "/endless": (EndlessBody(status=500), Stored(500, "y" * LIMIT, *FAILED_500)),
    "/huge-headers": (
        HugeHeaders(size_bytes=100_000, lines=1000),
        Stored(
            None,
            "",
            "connect",
            "the response headers exceed aiohttp's limits: Too many headers received",
        ),
    ),
}
FAILING = [path for path, (_, stored) in HOSTILE.items() if stored.response_status_code != 200]
QUIET_TENANT = "quiet"


def tenant_of(path: str) -> str:
    return "hostile" + path.replace("/", "-")


TENANTS = [*map(tenant_of, HOSTILE), QUIET_TENANT]


def healthy_path(tenant: str) -> str:
    return f"/ok-{tenant}"


async def test_hostile_receivers_are_recorded_and_do_not_disturb_their_neighbours(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    # Given a tenant per hostile endpoint, each with a healthy endpoint too, and a tenant
    # with only a healthy endpoint
    for path, (behaviour, _) in HOSTILE.items():
        receiver.script(path, then=behaviour)
    stack = HeraldStack(
        postgres_server,
        redis_server,
        tmp_path,
        workers=2,
        env={
            "HERALD_REQUEST_TIMEOUT": "2",
            "HERALD_RETRY_SCHEDULE": RETRY_SCHEDULE,
            # Every failing attempt is made on schedule: no circuit defers any.
            "HERALD_CIRCUIT_THRESHOLD": "1000",
        },
    )
    with stack:
        async with stack.client() as api:
            endpoints = await make_tenants(api, receiver)

            # When each tenant publishes a few messages
            published: dict[str, list[str]] = {}
            for tenant in TENANTS:
                report = await publish_many(api, tenant, MESSAGES, concurrency=4)
                assert report.statuses == {202: MESSAGES}, report.refusals[:3]
                published[tenant] = report.accepted

            # Then every healthy delivery arrives, and every delivery settles
            healthy = set().union(
                *(expected(ids, [healthy_path(tenant)]) for tenant, ids in published.items())
            )
            started = time.monotonic()
            await wait_for_receipts(receiver, healthy, timeout_s=SETTLE_TIMEOUT_S)
            final = {
                "succeeded": len(healthy) + (len(HOSTILE) - len(FAILING)) * MESSAGES,
                "exhausted": len(FAILING) * MESSAGES,
            }
            assert await settled(stack.database_dsn, SETTLE_TIMEOUT_S) == final
            settled_s = time.monotonic() - started
            await asyncio.sleep(QUIET_S)
            assert await delivery_states(stack.database_dsn) == final

            # ... each healthy delivery exactly once, nothing else to the healthy paths
            counts = receipts(r for r in receiver.requests if r.path.startswith("/ok-"))
            assert set(counts) == healthy
            assert {key: n for key, n in counts.items() if n > 1} == {}

            # ... and each hostile request exactly once among the recorded attempts
            recorded = 0
            for path, (_, stored) in HOSTILE.items():
                attempts = await endpoint_attempts(api, tenant_of(path), endpoints[path])
                assert_recorded(path, published[tenant_of(path)], attempts, receiver, stored)
                recorded += len(attempts)
            print(
                f"{len(healthy)} healthy deliveries once each and {recorded} hostile attempts "
                f"recorded; all settled {settled_s:.1f} s after the last publish"
            )


async def make_tenants(api: httpx.AsyncClient, receiver: Receiver) -> dict[str, str]:
    """Create the tenants and their endpoints; the hostile endpoints' ids by path."""
    hostile_ids = {}
    for path in HOSTILE:
        await make_tenant(api, tenant_of(path))
        hostile_ids[path] = await make_endpoint(api, tenant_of(path), receiver.url(path))
    await make_tenant(api, QUIET_TENANT)
    for tenant in TENANTS:
        await make_endpoint(api, tenant, receiver.url(healthy_path(tenant)))
    return hostile_ids


async def settled(dsn: str, timeout_s: float) -> dict[str, int]:
    """Deliveries by status once none is pending or awaiting a retry; AssertionError with
    the states after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while (states := await delivery_states(dsn)).keys() & {"pending", "failed"}:
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries not settled within {timeout_s} s: {states}")
        await asyncio.sleep(0.2)
    return states


async def endpoint_attempts(
    api: httpx.AsyncClient, tenant: str, endpoint_id: str
) -> list[dict[str, Any]]:
    """Every attempt of the endpoint, through the API (one page holds them all)."""
    reply = await api.get(f"/tenants/{tenant}/endpoints/{endpoint_id}/attempts?limit=250")
    assert reply.status_code == 200, reply.text
    page = reply.json()
    assert page["done"], "more attempts than one page"
    attempts: list[dict[str, Any]] = page["data"]
    return attempts


def assert_recorded(
    path: str,
    message_ids: list[str],
    attempts: list[dict[str, Any]],
    receiver: Receiver,
    stored: Stored,
) -> None:
    """Each message reached ``path`` as often as its schedule says, and each request
    has its attempt row, holding ``stored``."""
    per_message = ATTEMPTS if path in FAILING else 1
    sent = Counter(r.headers["webhook-id"] for r in receiver.requests_to(path))
    assert sent == {message_id: per_message for message_id in message_ids}, path
    assert Counter(attempt["message_id"] for attempt in attempts) == sent, path
    for attempt in attempts:
        assert Stored(*(attempt[name] for name in Stored._fields)) == stored, path
        assert len(attempt["response_body"]) <= LIMIT
        assert "\x00" not in attempt["response_body"] + (attempt["error"] or "")
