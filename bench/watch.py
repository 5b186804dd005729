"""Watching the bench receiver: counts by path segment, waits, latencies, arrival times."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp


@dataclass(frozen=True)
class Arrived:
    """What had arrived under a segment when a wait ended."""

    count: int
    unique: int
    expected: int
    waited_s: float

    @property
    def complete(self) -> bool:
        return self.unique >= self.expected

    def summary(self) -> dict[str, Any]:
        return {
            "received": self.count,
            "received_unique": self.unique,
            "duplicates": self.count - self.unique,
            "complete": self.complete,
        }


@dataclass(frozen=True)
class Arrival:
    """One request as the receiver saw it: its ``time.time()`` on arrival and the
    ``sent_at`` stamp of its payload (None when it carried none)."""

    at_s: float
    sent_at_s: float | None


class ReceiverWatch:
    """``async with ReceiverWatch(url) as watch:`` polls the receiver's control routes."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ReceiverWatch:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def stats(self) -> dict[str, dict[str, int]]:
        assert self._session is not None
        async with self._session.get(f"{self.base_url}/_stats") as reply:
            data: dict[str, dict[str, int]] = await reply.json()
            return data

    async def latencies(self, segment: str) -> list[float]:
        assert self._session is not None
        async with self._session.get(f"{self.base_url}/_latencies/{segment}") as reply:
            data: list[float] = await reply.json()
            return data

    async def arrivals(self, segment: str) -> list[Arrival]:
        """Every request that arrived under ``segment``, in arrival order."""
        assert self._session is not None
        async with self._session.get(f"{self.base_url}/_arrivals/{segment}") as reply:
            data: list[tuple[float, float | None]] = await reply.json()
            return [Arrival(at_s, sent_at_s) for at_s, sent_at_s in data]

    async def wait_for(
        self,
        segment: str,
        expected: int,
        timeout_s: float,
        on_poll: Callable[[], None] | None = None,
        poll_s: float = 0.05,
    ) -> Arrived:
        """Poll until ``expected`` distinct deliveries arrived under ``segment`` or
        ``timeout_s`` passed (then the result says ``complete: false``)."""
        started = time.monotonic()
        while True:
            tally = (await self.stats()).get(segment, {"count": 0, "unique": 0})
            if on_poll is not None:
                on_poll()
            waited_s = time.monotonic() - started
            if tally["unique"] >= expected or waited_s > timeout_s:
                return Arrived(tally["count"], tally["unique"], expected, waited_s)
            await asyncio.sleep(poll_s)
