"""Fair delivery lanes: which endpoint's due deliveries a worker takes next, and how many.

The deliveries are rows in the database (due when ``next_attempt_at`` has passed); the
lanes only decide the order in which workers claim them. Each endpoint is a lane, each
tenant a group of lanes:

- **Fair.** Tenants are served round-robin, each visit worth at most ``tenant_quantum``
  deliveries; within a tenant its lanes are served round-robin, at most
  ``lane_quantum`` each. A tenant with a backlog of 20 000 gets a turn like one with a
  single message, never the whole queue.
- **Capped.** A lane never has more than ``endpoint_in_flight`` deliveries granted and
  not yet finished, and a tenant never more than ``tenant_in_flight``, across every
  worker: a hanging endpoint holds a bounded share of the workers.
- **Rate-limited exactly.** An endpoint limited to r/s books slots on a grid: slot c is
  at ``base + c * 1e6 // r`` µs (integers, so any 1-second window holds at most r + 1
  slots at any r up to 10 000/s). A grant carries its slots; the worker starts each
  request no earlier than its slot. A lane whose next slot is out of reach is simply
  not eligible yet: nothing waits in a worker or a queue for it.
- **Gated.** A lane whose endpoint's circuit is open is not eligible until the gate time.

A lane's score in its sorted set says when it is next worth looking at: scores are
hints, a pop checks the gate, the caps and the rate itself. A pop hands out *grants*; the
worker claims up to that many due deliveries of the endpoint and *settles* each grant:
what it did not use goes back, and a lane that had nothing claimable leaves the ring
(unless it was touched meanwhile: every touch bumps its version). Every finished
delivery is *released*. A worker that stops beating its heart has what it held released
for it.

``LocalLanes`` (this module) keeps the state in process memory for ``herald dev``;
``app.delivery.lanes_redis.RedisLanes`` keeps the same state in Redis for every worker
and runs the same algorithm in Lua. Both compute in integer microseconds, so they agree
exactly; tests run them side by side.
"""

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from app.outbox import LaneWork

# The rate grid is rebased (without moving any slot) after this many slots, so that
# ``c * 1e6 / r`` stays far inside a double's exact range (Lua computes with doubles).
REBASE_AFTER_SLOTS = 100_000
US = 1_000_000


@dataclass(frozen=True, slots=True)
class LaneLimits:
    """The caps and quanta of the lanes (``endpoint_in_flight``, ``tenant_in_flight``
    come from settings); times in µs."""

    endpoint_in_flight: int
    tenant_in_flight: int
    tenant_quantum: int = 100
    lane_quantum: int = 50
    # A limited lane's slots start at least ``lead_us`` after the pop (time to claim),
    # and a pop books those within ``horizon_us`` after that.
    lead_us: int = 50_000
    horizon_us: int = 200_000
    park_us: int = 1_000_000  # how long a capped lane or tenant is left alone at most
    pump_ttl_us: int = 30_000_000  # a worker that has not beaten its heart for this long is gone
    max_visits: int = 64  # lanes and tenants looked at per pop


@dataclass(frozen=True, slots=True)
class Grant:
    """Up to ``count`` due deliveries of ``endpoint_id`` may be claimed. For a limited
    lane (``rate`` > 0) they are slots ``first_slot`` … on the grid from ``base_us``."""

    endpoint_id: str
    tenant_id: str
    count: int
    version: int
    rate: int = 0
    base_us: int = 0
    first_slot: int = 0

    def slot_us(self, index: int) -> int:
        """When the ``index``-th delivery of this grant may start (lanes clock, µs)."""
        return self.base_us + (self.first_slot + index) * US // self.rate


@dataclass(frozen=True, slots=True)
class Popped:
    grants: list[Grant]
    now_us: int  # the lanes' clock at the pop
    next_us: int | None  # when a lane is next worth looking at; None: no lane waits


Verdict = Literal["more", "dry", "park", "gate"]


@dataclass(frozen=True, slots=True)
class Settlement:
    """What came of a grant: ``used`` deliveries claimed; ``more`` (the lane may hold
    more), ``dry`` (nothing more claimable now), ``park`` (paused, disabled or gone) or
    ``gate`` (circuit open until ``gate_us``)."""

    grant: Grant
    used: int
    verdict: Verdict
    gate_us: int = 0


@dataclass(frozen=True, slots=True)
class Release:
    endpoint_id: str
    tenant_id: str
    count: int = 1


class Lanes(Protocol):
    limits: LaneLimits

    async def touch(self, work: Sequence[LaneWork]) -> None:
        """Put each endpoint's lane in the ring, eligible from its ``due_at``."""

    async def pop(self, pump: str, budget: int, releases: Sequence[Release]) -> Popped:
        """Release ``releases``, then grant up to ``budget`` deliveries, fairly."""

    async def settle(self, pump: str, settlements: Sequence[Settlement]) -> None:
        """Give back what grants did not use; drop dry or parked lanes; gate lanes."""

    async def release(self, pump: str, releases: Sequence[Release]) -> None:
        """Finished deliveries; also tells the lanes that ``pump`` is alive."""

    async def wait(self, pump: str, timeout_s: float) -> None:
        """Until a touch may have made work, or ``timeout_s``."""

    async def close(self) -> None: ...


def slot_us(base_us: int, slot: int, rate: int) -> int:
    return base_us + slot * US // rate


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(moment: datetime) -> int:
    """``moment`` in whole µs since the epoch (exact: no float on the way)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


@dataclass
class _Lane:
    tenant: str
    rate: int = 0
    base: int = 0  # rate grid: slot c starts at base + c * 1e6 // rate
    slot: int = 0  # the next slot to book
    in_flight: int = 0
    version: int = 0
    gate: int = 0

    def next_slot_us(self) -> int:
        return slot_us(self.base, self.slot, self.rate)


@dataclass
class _State:
    tenants: dict[str, int] = field(default_factory=dict)  # tenant → score
    rings: dict[str, dict[str, int]] = field(default_factory=dict)  # tenant → lane → score
    lanes: dict[str, _Lane] = field(default_factory=dict)
    tenant_in_flight: dict[str, int] = field(default_factory=dict)
    pumps: dict[str, int] = field(default_factory=dict)  # pump → heartbeat expiry
    held: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)


def _first_due(scores: dict[str, int], upto: int) -> str | None:
    """The member with the lowest score ≤ ``upto`` (ties by member), as Redis orders."""
    due = [(score, member) for member, score in scores.items() if score <= upto]
    return min(due)[1] if due else None


class LocalLanes:
    """The lanes in this process's memory (``herald dev``: one process, any threads)."""

    def __init__(self, limits: LaneLimits, clock: Callable[[], int] | None = None) -> None:
        self.limits = limits
        self._clock = clock or (lambda: time.time_ns() // 1000)
        self._state = _State()
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    # -- the Lanes protocol ---------------------------------------------------------------

    async def touch(self, work: Sequence[LaneWork]) -> None:
        with self._lock:
            self.touch_at(self._clock(), work)
        self._wake()

    async def pop(self, pump: str, budget: int, releases: Sequence[Release]) -> Popped:
        with self._lock:
            popped = self.pop_at(self._clock(), pump, budget, releases)
        if popped.next_us is not None and popped.next_us <= popped.now_us:
            self._wake()  # more is eligible: another pump may take it
        return popped

    async def settle(self, pump: str, settlements: Sequence[Settlement]) -> None:
        with self._lock:
            self.settle_at(self._clock(), pump, settlements)

    async def release(self, pump: str, releases: Sequence[Release]) -> None:
        with self._lock:
            self.release_at(self._clock(), pump, releases)

    async def wait(self, pump: str, timeout_s: float) -> None:
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)

    async def close(self) -> None:
        return None

    def _wake(self) -> None:
        for loop, event in list(self._waiters):
            loop.call_soon_threadsafe(event.set)

    # -- the algorithm, at an explicit time (µs) ------------------------------------------

    def touch_at(self, now: int, work: Sequence[LaneWork]) -> None:
        state = self._state
        for item in work:
            lane = state.lanes.setdefault(item.endpoint_id, _Lane(item.tenant_id))
            lane.tenant = item.tenant_id
            rate = item.rate_limit or 0
            if rate != lane.rate:
                if lane.rate:  # the old grid's next slot is where the new one starts
                    lane.base, lane.slot = lane.next_slot_us(), 0
                lane.rate = rate
            lane.version += 1
            if item.reopen:
                lane.gate = 0
            due = to_us(item.due_at)
            score = max(due, lane.gate)
            ring = state.rings.setdefault(item.tenant_id, {})
            ring[item.endpoint_id] = min(ring.get(item.endpoint_id, score), score)
            state.tenants[item.tenant_id] = min(state.tenants.get(item.tenant_id, score), score)

    def pop_at(self, now: int, pump: str, budget: int, releases: Sequence[Release]) -> Popped:
        state, limits = self._state, self.limits
        self.release_at(now, pump, releases)
        self._reap(now)
        grants: list[Grant] = []
        clock, visits = now, 0
        while budget > 0 and visits < limits.max_visits:
            tenant = _first_due(state.tenants, clock)
            if tenant is None:
                break
            visits += 1
            clock += 1
            room = min(
                budget,
                limits.tenant_quantum,
                limits.tenant_in_flight - state.tenant_in_flight.get(tenant, 0),
            )
            if room <= 0:
                state.tenants[tenant] = now + limits.park_us  # until one of its releases
                continue
            ring = state.rings.get(tenant, {})
            served: set[str] = set()
            spent = 0
            while spent < room and visits < limits.max_visits:
                endpoint = _first_due({e: s for e, s in ring.items() if e not in served}, clock)
                if endpoint is None:
                    break
                visits += 1
                clock += 1
                served.add(endpoint)
                grant, ring[endpoint] = self._grant(endpoint, tenant, now, clock, room - spent)
                if grant is not None:
                    grants.append(grant)
                    spent += grant.count
                    self._hold(pump, grant.endpoint_id, tenant, grant.count)
            budget -= spent
            self._rescore(tenant, clock)
        next_us = min(state.tenants.values(), default=None)
        return Popped(grants, now, next_us)

    def settle_at(self, now: int, pump: str, settlements: Sequence[Settlement]) -> None:
        state = self._state
        for settled in settlements:
            grant = settled.grant
            unused = grant.count - settled.used
            lane = state.lanes.get(grant.endpoint_id)
            if lane is None:
                continue
            if unused > 0:
                if (
                    grant.rate
                    and lane.base == grant.base_us
                    and lane.slot == grant.first_slot + grant.count
                ):
                    lane.slot = grant.first_slot + settled.used  # nobody booked after
                self.release_at(now, pump, [Release(grant.endpoint_id, grant.tenant_id, unused)])
            ring = state.rings.get(grant.tenant_id)
            if ring is None or grant.endpoint_id not in ring:
                continue
            if settled.verdict in ("dry", "park") and lane.version == grant.version:
                del ring[grant.endpoint_id]
                self._rescore(grant.tenant_id, state.tenants.get(grant.tenant_id, now))
            elif settled.verdict == "gate":
                lane.gate = settled.gate_us
                ring[grant.endpoint_id] = max(ring[grant.endpoint_id], settled.gate_us)
                self._rescore(grant.tenant_id, state.tenants.get(grant.tenant_id, now))

    def release_at(self, now: int, pump: str, releases: Sequence[Release]) -> None:
        state = self._state
        state.pumps[pump] = now + self.limits.pump_ttl_us
        held = state.held.setdefault(pump, {})
        for release in releases:
            for key in (("e", release.endpoint_id), ("t", release.tenant_id)):
                left = held.get(key, 0) - release.count
                if left > 0:
                    held[key] = left
                else:
                    held.pop(key, None)
            self._unhold(now, release.endpoint_id, release.tenant_id, release.count)

    # -- helpers --------------------------------------------------------------------------

    def _grant(
        self, endpoint: str, tenant: str, now: int, clock: int, room: int
    ) -> tuple[Grant | None, int]:
        """A grant of the lane (or None) and the lane's next score."""
        lane, limits = self._state.lanes[endpoint], self.limits
        if lane.gate > now:
            return None, lane.gate
        room = min(room, limits.lane_quantum, limits.endpoint_in_flight - lane.in_flight)
        if room <= 0:
            return None, now + limits.park_us  # until one of its releases
        if not lane.rate:
            return Grant(endpoint, tenant, room, lane.version), clock
        # An idle lane's grid starts afresh after the lead, its first request on time;
        # a lane with requests in flight that fell behind its grid (capped, the
        # receiver slower than the limit) books from now: those are due already.
        lead = limits.lead_us if lane.in_flight == 0 else 0
        if lane.next_slot_us() < now + lead:
            lane.base, lane.slot = now + lead, 0
        elif lane.slot >= REBASE_AFTER_SLOTS:
            lane.base, lane.slot = lane.next_slot_us(), 0
        reach = now + limits.lead_us + limits.horizon_us
        if lane.next_slot_us() > reach:
            return None, lane.next_slot_us() - limits.lead_us - limits.horizon_us // 2
        last = ((reach - lane.base + 1) * lane.rate - 1) // US  # the last slot within reach
        count = min(room, last - lane.slot + 1)
        grant = Grant(endpoint, tenant, count, lane.version, lane.rate, lane.base, lane.slot)
        lane.slot += count
        return grant, max(clock, lane.next_slot_us() - limits.lead_us - limits.horizon_us // 2)

    def _rescore(self, tenant: str, floor: int) -> None:
        state = self._state
        ring = state.rings.get(tenant)
        if not ring:
            state.rings.pop(tenant, None)
            state.tenants.pop(tenant, None)
            return
        state.tenants[tenant] = max(floor, min(ring.values()))

    def _hold(self, pump: str, endpoint: str, tenant: str, count: int) -> None:
        state = self._state
        state.lanes[endpoint].in_flight += count
        state.tenant_in_flight[tenant] = state.tenant_in_flight.get(tenant, 0) + count
        held = state.held.setdefault(pump, {})
        for key in (("e", endpoint), ("t", tenant)):
            held[key] = held.get(key, 0) + count

    def _unhold(self, now: int, endpoint: str, tenant: str, count: int) -> None:
        """Count ``count`` fewer in flight; a lane or tenant left alone for its cap is
        looked at again from now."""
        state, limits = self._state, self.limits
        lane = state.lanes.get(endpoint)
        if lane is not None:
            lane.in_flight = max(0, lane.in_flight - count)
        left = state.tenant_in_flight.get(tenant, 0) - count
        if left > 0:
            state.tenant_in_flight[tenant] = left
        else:
            state.tenant_in_flight.pop(tenant, None)
        ring = state.rings.get(tenant)
        if lane is None or ring is None or endpoint not in ring:
            return
        natural = max(now, lane.gate)
        if lane.rate:
            natural = max(natural, lane.next_slot_us() - limits.lead_us - limits.horizon_us // 2)
        ring[endpoint] = min(ring[endpoint], natural)
        if tenant in state.tenants:
            state.tenants[tenant] = min(state.tenants[tenant], max(now, min(ring.values())))

    def _reap(self, now: int) -> None:
        """Release what one worker that stopped beating still held."""
        state = self._state
        dead = _first_due(state.pumps, now)
        if dead is None:
            return
        held = state.held.pop(dead, {})
        del state.pumps[dead]
        for (kind, key), count in held.items():
            if kind == "e":
                lane = state.lanes.get(key)
                if lane is not None:
                    lane.in_flight = max(0, lane.in_flight - count)
            else:
                left = state.tenant_in_flight.get(key, 0) - count
                if left > 0:
                    state.tenant_in_flight[key] = left
                else:
                    state.tenant_in_flight.pop(key, None)
