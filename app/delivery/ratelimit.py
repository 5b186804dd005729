"""Per-endpoint rate limits, shared by every worker process (GCRA on Redis).

Each endpoint with ``rate_limit`` r/s gets one slot every 1/r seconds. ``reserve`` books
the next free slot: a delivery whose slot is near waits for it in the worker; one whose
slot is further than ``max_wait_s`` away is not attempted now but deferred to then (in the
database). Nothing limited is ever failed or dropped.
"""

import time
from typing import Protocol

from redis.asyncio import Redis

# KEYS[1] endpoint key; ARGV: interval_ms, max_wait_ms. Redis's own clock, so every
# worker process books against the same time. Returns the wait in ms before the booked
# slot, or -(wait) when it is too far to book.
_RESERVE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - now
if wait > tonumber(ARGV[2]) then return -wait end
redis.call('SET', KEYS[1], tat + tonumber(ARGV[1]), 'PX', wait + 2 * tonumber(ARGV[1]) + 1000)
return wait
"""


class RateLimiter(Protocol):
    async def reserve(self, endpoint_id: str, per_second: int, max_wait_s: float) -> float:
        """Book a slot; return seconds to wait for it (≥ 0), or −seconds until one is free
        when that is beyond ``max_wait_s`` (nothing is booked then)."""


class LocalRateLimiter:
    """The same algorithm in process memory, for ``herald dev`` (one process)."""

    def __init__(self) -> None:
        self._next_slot_ms: dict[str, float] = {}

    async def reserve(self, endpoint_id: str, per_second: int, max_wait_s: float) -> float:
        now = time.time() * 1000
        tat = max(self._next_slot_ms.get(endpoint_id, now), now)
        wait = tat - now
        if wait > max_wait_s * 1000:
            return -wait / 1000
        self._next_slot_ms[endpoint_id] = tat + 1000 / per_second
        return wait / 1000


class RedisRateLimiter:
    def __init__(self, client: "Redis") -> None:
        self._client = client
        self._script = client.register_script(_RESERVE)

    async def reserve(self, endpoint_id: str, per_second: int, max_wait_s: float) -> float:
        wait_ms = await self._script(
            keys=[f"herald:rate:{endpoint_id}"],
            args=[max(1, 1000 // per_second), int(max_wait_s * 1000)],
        )
        return int(wait_ms) / 1000
