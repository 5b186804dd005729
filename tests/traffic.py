"""Traffic for production-mode tests: tenants with endpoints, concurrent publishing, and
the bookkeeping that proves what arrived (by ``webhook-id`` and endpoint path) and what
the database says.

Publishing is bounded: at most ``concurrency`` requests in flight on one httpx client
(whose pool slows down sharply past a few dozen concurrent requests).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from tests.receivers import ReceivedRequest, Receiver

EVENT_TYPE = "load.tested"


@dataclass
class PublishReport:
    """What a burst of publishing got back: accepted message ids, every status seen, and
    the bodies of the replies that were not 202 (or the transport error's name)."""

    accepted: list[str] = field(default_factory=list)
    statuses: Counter[int | str] = field(default_factory=Counter)
    refusals: list[tuple[int | str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def rate_per_s(self) -> float:
        return len(self.accepted) / self.elapsed_s if self.elapsed_s else 0.0


async def make_tenant(api: httpx.AsyncClient, uid: str) -> None:
    reply = await api.post("/tenants", json={"uid": uid, "name": uid})
    assert reply.status_code == 201, reply.text


async def make_endpoint(api: httpx.AsyncClient, tenant: str, url: str, **fields: Any) -> str:
    """Create an endpoint; its id."""
    reply = await api.post(f"/tenants/{tenant}/endpoints", json={"url": url, **fields})
    assert reply.status_code == 201, reply.text
    endpoint_id: str = reply.json()["id"]
    return endpoint_id


async def publish_many(
    api: httpx.AsyncClient,
    tenant: str,
    count: int,
    *,
    concurrency: int = 8,
    first: int = 0,
    pause_s: float = 0.0,
) -> PublishReport:
    """Publish ``count`` messages (payload ``{"n": first + i}``), ``concurrency`` at a time.

    Never raises for a refusal: a non-202 reply or a transport error is counted in the
    report so fault tests can assert on it. ``pause_s`` spaces each worker's requests.
    """
    report = PublishReport()
    numbers = iter(range(first, first + count))
    started = time.monotonic()

    async def publisher() -> None:
        for number in numbers:
            await _publish_one(api, tenant, number, report)
            if pause_s:
                await asyncio.sleep(pause_s)

    await asyncio.gather(*(publisher() for _ in range(concurrency)))
    report.elapsed_s = time.monotonic() - started
    return report


async def _publish_one(api: httpx.AsyncClient, tenant: str, number: int, report: PublishReport):
    try:
        reply = await api.post(
            f"/tenants/{tenant}/messages",
            json={"event_type": EVENT_TYPE, "payload": {"n": number}},
        )
    except httpx.HTTPError as exc:
        report.statuses[type(exc).__name__] += 1
        report.refusals.append((type(exc).__name__, str(exc)))
        return
    report.statuses[reply.status_code] += 1
    if reply.status_code == 202:
        report.accepted.append(reply.json()["id"])
    else:
        report.refusals.append((reply.status_code, _json_or_text(reply)))


def _json_or_text(reply: httpx.Response) -> Any:
    try:
        return reply.json()
    except ValueError:
        return reply.text


def receipts(requests: Iterable[ReceivedRequest]) -> Counter[tuple[str, str]]:
    """How many times each (webhook-id, path) arrived."""
    return Counter((request.headers["webhook-id"], request.path) for request in requests)


def expected(message_ids: Iterable[str], paths: Iterable[str]) -> set[tuple[str, str]]:
    return {(message_id, path) for message_id in message_ids for path in paths}


async def wait_for_receipts(
    receiver: Receiver,
    wanted: set[tuple[str, str]],
    timeout_s: float,
    successful: Any = None,
) -> float:
    """Wait until every (webhook-id, path) of ``wanted`` arrived (among ``successful(
    receiver)`` requests if given); the seconds it took. AssertionError with the missing
    count after ``timeout_s``."""
    started = time.monotonic()
    while True:
        arrived = successful(receiver) if successful else receiver.requests
        missing = wanted - set(receipts(arrived))
        if not missing:
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise AssertionError(
                f"{len(missing)} of {len(wanted)} deliveries missing after {timeout_s} s, "
                f"e.g. {sorted(missing)[:3]}"
            )
        await asyncio.sleep(0.2)


async def delivery_states(dsn: str) -> dict[str, int]:
    """Deliveries by status, straight from the stack's database."""
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        rows = await connection.fetch("SELECT status, count(*) AS n FROM deliveries GROUP BY 1")
    finally:
        await connection.close()
    return {row["status"]: row["n"] for row in rows}


async def fetch_value(dsn: str, query: str, *args: Any) -> Any:
    """One value of one row, straight from the stack's database."""
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        return await connection.fetchval(query, *args)
    finally:
        await connection.close()


async def settled_states(dsn: str, succeeded: int, timeout_s: float = 20.0) -> dict[str, int]:
    """Deliveries by status once ``succeeded`` of them have succeeded, or as they stand
    after ``timeout_s``. A receipt can precede its record: a worker killed between the
    request and the commit leaves the delivery to be resent once its lease lapses."""
    deadline = time.monotonic() + timeout_s
    while (states := await delivery_states(dsn)).get("succeeded", 0) < succeeded:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    return states
