"""Client-side load: bounded concurrent POSTs with aiohttp, and open-loop paced sends.

Every request body is a 1 KB JSON payload stamped with ``sent_at`` (``time.time()``)
right before it leaves, so the receiver can measure publish→delivered latency.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

PAD = "x" * 900  # brings each body to ~1 KB, the size the machine notes measure
EVENT_TYPE = "bench.tick"
REQUEST_TIMEOUT_S = 60.0


def payload(number: int) -> dict[str, Any]:
    """The webhook payload: what Herald stores and delivers byte for byte."""
    return {"sent_at": time.time(), "n": number, "pad": PAD}


def publish_body(number: int) -> bytes:
    """A ``POST …/messages`` body wrapping ``payload(number)``."""
    return json.dumps({"event_type": EVENT_TYPE, "payload": payload(number)}).encode()


def raw_body(number: int) -> bytes:
    """The same bytes Herald would deliver for ``number``, for the raw-client baseline."""
    return json.dumps(payload(number)).encode()


@dataclass
class LoadReport:
    """What a run of POSTs got back."""

    sent: int = 0
    elapsed_s: float = 0.0
    statuses: Counter[int | str] = field(default_factory=Counter)
    ok_ids: list[str] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.sent / self.elapsed_s if self.elapsed_s else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.sent,
            "elapsed_s": round(self.elapsed_s, 3),
            "per_s": round(self.per_s, 1),
            "statuses": {str(k): v for k, v in self.statuses.items()},
        }


def new_session(
    headers: Mapping[str, str] | None = None, limit: int = 256
) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        headers=dict(headers or {}),
        connector=aiohttp.TCPConnector(limit=limit),
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
    )


async def _post(session: aiohttp.ClientSession, url: str, body: bytes, report: LoadReport) -> None:
    headers = {"content-type": "application/json"}
    try:
        async with session.post(url, data=body, headers=headers) as reply:
            data = await reply.read()
            report.statuses[reply.status] += 1
            if reply.status in (200, 202) and data.startswith(b'{"id":"msg_'):
                report.ok_ids.append(json.loads(data)["id"])
    except (aiohttp.ClientError, TimeoutError) as exc:
        report.statuses[type(exc).__name__] += 1
    report.sent += 1


async def blast(
    session: aiohttp.ClientSession,
    url: str,
    make_body: Callable[[int], bytes],
    total: int,
    concurrency: int,
    first: int = 0,
) -> LoadReport:
    """POST ``total`` bodies, ``concurrency`` in flight at once (closed loop)."""
    report = LoadReport()
    numbers = iter(range(first, first + total))

    async def one_client() -> None:
        for number in numbers:
            await _post(session, url, make_body(number), report)

    started = time.monotonic()
    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    report.elapsed_s = time.monotonic() - started
    return report


async def paced(
    session: aiohttp.ClientSession,
    url: str,
    make_body: Callable[[int], bytes],
    total: int,
    rate_per_s: float,
    max_in_flight: int = 512,
    until: asyncio.Event | None = None,
) -> LoadReport:
    """POST ``total`` bodies at a steady ``rate_per_s`` (open loop: a slow reply does not
    delay the next send, up to ``max_in_flight`` outstanding), or fewer: none is sent
    once ``until`` is set. Returns once every request sent has its reply."""
    report = LoadReport()
    gate = asyncio.Semaphore(max_in_flight)
    tasks: list[asyncio.Task[None]] = []

    async def one(number: int) -> None:
        try:
            await _post(session, url, make_body(number), report)
        finally:
            gate.release()

    started = time.monotonic()
    for number in range(total):
        delay_s = started + number / rate_per_s - time.monotonic()
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        if until is not None and until.is_set():
            break
        await gate.acquire()
        tasks.append(asyncio.create_task(one(number)))
    await asyncio.gather(*tasks)
    report.elapsed_s = time.monotonic() - started
    return report
