"""The delivery lanes in Redis, shared by every worker and api process.

Each operation is one call of ``lanes.lua``, the algorithm of ``app.delivery.lanes``
(``LocalLanes``) in Lua, atomic in Redis and timed by Redis's clock, so every process
books rate-limit slots against the same time. Waiting workers block on a list that
touches push to.
"""

import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

from redis.asyncio import Redis

from app.delivery.lanes import Grant, LaneLimits, Popped, Release, Settlement, to_us
from app.outbox import LaneWork

LUA = resources.files("app.delivery").joinpath("lanes.lua").read_text()
PREFIX = "herald:q:"


class RedisLanes:
    """``Lanes`` over ``client``; the prefix separates Herald's keys from others'."""

    def __init__(self, client: Redis, limits: LaneLimits, prefix: str = PREFIX) -> None:
        self.limits = limits
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(LUA)
        self._limits = {name: getattr(limits, name) for name in LaneLimits.__dataclass_fields__}

    # -- the Lanes protocol ---------------------------------------------------------------

    async def touch(self, work: Sequence[LaneWork]) -> None:
        await self.touch_at(None, work)

    async def pop(self, pump: str, budget: int, releases: Sequence[Release]) -> Popped:
        return await self.pop_at(None, pump, budget, releases)

    async def settle(self, pump: str, settlements: Sequence[Settlement]) -> None:
        await self.settle_at(None, pump, settlements)

    async def release(self, pump: str, releases: Sequence[Release]) -> None:
        await self.release_at(None, pump, releases)

    async def wait(self, pump: str, timeout_s: float) -> None:
        await self._client.blpop([self._prefix + "wake"], timeout=max(timeout_s, 0.001))

    async def close(self) -> None:
        await self._client.aclose()

    # -- at an explicit time (µs; None: Redis's clock) ------------------------------------

    async def touch_at(self, now_us: int | None, work: Sequence[LaneWork]) -> None:
        rows = [
            [w.tenant_id, w.endpoint_id, w.rate_limit or 0, to_us(w.due_at), int(w.reopen)]
            for w in work
        ]
        if rows:
            await self._call("touch", now_us, work=rows)

    async def pop_at(
        self, now_us: int | None, pump: str, budget: int, releases: Sequence[Release]
    ) -> Popped:
        grants, now, next_us = await self._call(
            "pop", now_us, pump=pump, budget=budget, releases=_releases(releases)
        )
        return Popped(
            [
                Grant(_text(e), _text(t), int(n), int(v), int(rate), int(base), int(first))
                for e, t, n, v, rate, base, first in grants
            ],
            int(now),
            None if int(next_us) < 0 else int(next_us),
        )

    async def settle_at(
        self, now_us: int | None, pump: str, settlements: Sequence[Settlement]
    ) -> None:
        rows = [
            [
                s.grant.endpoint_id,
                s.grant.tenant_id,
                s.grant.count,
                s.grant.version,
                s.grant.rate,
                s.grant.base_us,
                s.grant.first_slot,
                s.used,
                s.verdict,
                s.gate_us,
            ]
            for s in settlements
        ]
        if rows:
            await self._call("settle", now_us, pump=pump, settlements=rows)

    async def release_at(self, now_us: int | None, pump: str, releases: Sequence[Release]) -> None:
        await self._call("release", now_us, pump=pump, releases=_releases(releases))

    async def _call(self, op: str, now_us: int | None, **arguments: Any) -> Any:
        payload = json.dumps({**arguments, "limits": self._limits})
        now = "" if now_us is None else str(now_us)
        return await self._script(keys=[], args=[op, self._prefix, payload, now])


def _releases(releases: Sequence[Release]) -> list[list[object]]:
    return [[r.endpoint_id, r.tenant_id, r.count] for r in releases]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
