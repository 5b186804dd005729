"""The fair delivery lanes: round-robin between tenants and endpoints, caps, exact rate
grids, gates, dry lanes, dead workers; and the Lua lanes (Redis) agree with the Python
ones step for step."""

import random
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from app.delivery.lanes import (
    US,
    Grant,
    LaneLimits,
    LocalLanes,
    Popped,
    Release,
    Settlement,
)
from app.delivery.lanes_redis import RedisLanes
from app.outbox import LaneWork
from tests.services import RedisServer

T0 = 1_800_000_000 * US  # a fixed "now" in µs
LIMITS = LaneLimits(endpoint_in_flight=8, tenant_in_flight=20, tenant_quantum=10, lane_quantum=5)


def work(tenant: str, endpoint: str, at_us: int = T0, rate: int | None = None) -> LaneWork:
    due = datetime.fromtimestamp(at_us // US, UTC).replace(microsecond=at_us % US)
    return LaneWork(tenant, endpoint, rate, due)


def granted(popped: Popped) -> Counter[str]:
    counts: Counter[str] = Counter()
    for grant in popped.grants:
        counts[grant.endpoint_id] += grant.count
    return counts


def test_tenants_take_turns_whatever_their_backlog() -> None:
    # Given a big tenant touched first and a small one touched after it
    lanes = LocalLanes(LIMITS)
    lanes.touch_at(T0, [work("t_big", "ep_big")])
    lanes.touch_at(T0 + 1, [work("t_small", "ep_small")])
    # When a worker pops more than either may take in one turn
    popped = lanes.pop_at(T0 + 2, "w1", budget=30, releases=[])
    # Then each got its turn, one lane quantum each per visit, the small one in the first round
    order = [grant.endpoint_id for grant in popped.grants]
    assert order[:2] == ["ep_big", "ep_small"]
    assert granted(popped)["ep_small"] >= LIMITS.lane_quantum
    assert all(grant.count <= LIMITS.lane_quantum for grant in popped.grants)


def test_lanes_of_a_tenant_take_turns() -> None:
    lanes = LocalLanes(LIMITS)
    lanes.touch_at(T0, [work("t", f"ep_{i}") for i in range(4)])
    popped = lanes.pop_at(T0 + 1, "w1", budget=LIMITS.tenant_quantum, releases=[])
    # One tenant visit of 10 is spent on two lanes of 5, the next visit on the next two
    assert [g.endpoint_id for g in popped.grants][:2] == ["ep_0", "ep_1"]
    again = lanes.pop_at(T0 + 1000, "w1", budget=LIMITS.tenant_quantum, releases=[])
    assert [g.endpoint_id for g in again.grants][:2] == ["ep_2", "ep_3"]


def test_endpoint_and_tenant_caps_hold_across_workers_until_released() -> None:
    lanes = LocalLanes(LIMITS)
    lanes.touch_at(T0, [work("t", "ep_a"), work("t", "ep_b"), work("t", "ep_c")])
    total: Counter[str] = Counter()
    for step, worker in enumerate(["w1", "w2", "w1", "w2", "w1", "w2"]):
        total += granted(lanes.pop_at(T0 + 10 * step, worker, budget=50, releases=[]))
    # Then no endpoint has more than 8 and the tenant no more than 20 in flight
    assert max(total.values()) <= LIMITS.endpoint_in_flight
    assert sum(total.values()) == LIMITS.tenant_in_flight
    # When one delivery of ep_a finishes, one more of the tenant may go
    after = lanes.pop_at(T0 + 100, "w1", budget=50, releases=[Release("ep_a", "t")])
    assert sum(granted(after).values()) == 1


def test_a_dead_workers_holdings_are_released_for_it() -> None:
    lanes = LocalLanes(LIMITS)
    lanes.touch_at(T0, [work("t", "ep_a")])
    assert sum(granted(lanes.pop_at(T0, "w_dead", budget=8, releases=[])).values()) == 8
    assert not lanes.pop_at(T0 + 1, "w_live", budget=8, releases=[]).grants
    # When the dead worker's heartbeat expires, the next pop releases what it held
    later = T0 + LIMITS.pump_ttl_us + 1
    lanes.touch_at(later, [work("t", "ep_a", later)])
    assert sum(granted(lanes.pop_at(later, "w_live", budget=8, releases=[])).values()) == 8


def test_a_dry_lane_leaves_the_ring_unless_touched_meanwhile() -> None:
    lanes = LocalLanes(LIMITS)
    lanes.touch_at(T0, [work("t", "ep_a")])
    [grant] = lanes.pop_at(T0, "w1", budget=5, releases=[]).grants
    # Given a touch between the pop and its settlement (new deliveries were published)
    lanes.touch_at(T0 + 1, [work("t", "ep_a", T0 + 1)])
    lanes.settle_at(T0 + 2, "w1", [Settlement(grant, used=0, verdict="dry")])
    # Then the lane stays: its newer deliveries are found
    [again] = lanes.pop_at(T0 + 3, "w1", budget=5, releases=[]).grants
    lanes.settle_at(T0 + 4, "w1", [Settlement(again, used=0, verdict="dry")])
    # And without a touch, a dry lane is gone
    assert lanes.pop_at(T0 + 5, "w1", budget=5, releases=[]) == Popped([], T0 + 5, None)


def test_a_gated_lane_waits_for_its_gate_unless_reopened() -> None:
    lanes = LocalLanes(LIMITS)
    lanes.touch_at(T0, [work("t", "ep_a")])
    [grant] = lanes.pop_at(T0, "w1", budget=5, releases=[]).grants
    gate = T0 + 30 * US
    lanes.settle_at(T0, "w1", [Settlement(grant, used=0, verdict="gate", gate_us=gate)])
    # A touch does not open the gate early
    lanes.touch_at(T0 + 1, [work("t", "ep_a", T0 + 1)])
    assert not lanes.pop_at(T0 + 2, "w1", budget=5, releases=[]).grants
    assert not lanes.pop_at(gate - 1, "w1", budget=5, releases=[]).grants
    assert lanes.pop_at(gate, "w1", budget=5, releases=[]).grants
    # A reopening touch does
    lanes.settle_at(gate, "w1", [Settlement(grant, used=0, verdict="gate", gate_us=gate + US)])
    reopen = work("t", "ep_a", gate + 1)
    lanes.touch_at(gate + 1, [LaneWork(reopen.tenant_id, "ep_a", None, reopen.due_at, True)])
    assert lanes.pop_at(gate + 2, "w1", budget=5, releases=[]).grants


def slots_booked(rate: int, seconds: float, seed: int, waste: bool) -> list[int]:
    """Every slot a rate-limited lane books while workers pop it at random moments: the
    times at which they would start requests. Now and then a worker finds fewer
    deliveries than granted and gives the rest back: the latest grant (whose slots are
    then booked again), or with ``waste`` any grant (whose slots may be lost)."""
    rng = random.Random(seed)
    limits = LaneLimits(endpoint_in_flight=10**6, tenant_in_flight=10**6, lane_quantum=200)
    lanes = LocalLanes(limits)
    lanes.touch_at(T0, [work("t", "ep", rate=rate)])
    slots: list[int] = []
    now = T0
    while now < T0 + seconds * US:
        grants = lanes.pop_at(now, rng.choice(["w1", "w2", "w3"]), 10_000, []).grants
        for index, grant in enumerate(grants):
            used = grant.count
            if rng.random() < 0.2 and (waste or index == len(grants) - 1):
                used = rng.randrange(grant.count + 1)
                lanes.settle_at(now, "w1", [Settlement(grant, used, "more")])
            slots += [grant.slot_us(i) for i in range(used)]
        now += rng.randrange(1, 40_000)
    return sorted(slots)


def busiest_window(times_us: Sequence[int]) -> int:
    most, start = 0, 0
    for end, at in enumerate(times_us):
        while at - times_us[start] >= US:
            start += 1
        most = max(most, end - start + 1)
    return most


@pytest.mark.parametrize("rate", [1, 7, 300, 2000, 10_000])
def test_rate_grid_holds_every_second_and_books_the_whole_rate(rate: int) -> None:
    seconds = 6 if rate < 5000 else 3
    for seed in range(3):
        # No one-second window holds more than rate + 1 slots, and none is booked twice,
        # even when workers give back slots amid others'
        wasteful = slots_booked(rate, seconds, seed, waste=True)
        assert busiest_window(wasteful) <= rate + 1
        assert len(set(wasteful)) == len(wasteful)
        # And a backlog at the limit is booked at >= 99 % of it, start to end
        slots = slots_booked(rate, seconds, seed, waste=False)
        assert busiest_window(slots) <= rate + 1
        span_s = (slots[-1] - slots[0]) / US
        assert (len(slots) - 1) / span_s >= 0.99 * rate


@pytest.fixture
async def redis_lanes(redis_server: RedisServer) -> AsyncIterator[RedisLanes]:
    client = Redis.from_url(redis_server.url)
    await client.flushdb()
    lanes = RedisLanes(client, LIMITS, prefix="test:q:")
    yield lanes
    await lanes.close()


def grant_tuple(grant: Grant) -> tuple[object, ...]:
    return (grant.endpoint_id, grant.tenant_id, grant.count, grant.version, grant.rate,
            grant.base_us, grant.first_slot)  # fmt: skip


@pytest.mark.parametrize("seed", [7, 13])
async def test_lua_lanes_agree_with_python_lanes(redis_lanes: RedisLanes, seed: int) -> None:
    # Given tenants of one to three endpoints, some rate-limited
    rng = random.Random(seed)
    tenants = {f"t{i}": [f"ep_{i}_{j}" for j in range(rng.randint(1, 3))] for i in range(5)}
    rates = {ep: rng.choice([None, None, 3, 50, 4000]) for eps in tenants.values() for ep in eps}
    # When both see the same random run of touches, pops, settlements and releases
    # Then every pop grants the same, and says the same about the next eligible lane
    await _replay_both(rng, tenants, rates, redis_lanes)


async def _replay_both(
    rng: random.Random,
    tenants: dict[str, list[str]],
    rates: dict[str, int | None],
    redis: RedisLanes,
) -> None:
    local = LocalLanes(LIMITS)
    outstanding: list[tuple[str, Grant]] = []
    seen: Counter[str] = Counter()
    now = T0 + 3600 * US
    for step in range(800):
        now += rng.randrange(0, 60_000)
        action = rng.random()
        if action < 0.25:
            tenant = rng.choice(list(tenants))
            items = [work(tenant, ep, now + rng.randrange(-1000, 1000), rates[ep])
                     for ep in tenants[tenant]]  # fmt: skip
            local.touch_at(now, items)
            await redis.touch_at(now, items)
        elif action < 0.65:
            worker = rng.choice(["w1", "w2", "w3"])
            mine = [g for w, g in outstanding if w == worker][: rng.randint(0, 4)]
            releases = [Release(g.endpoint_id, g.tenant_id, 1) for g in mine]
            budget = rng.randint(1, 40)
            expected = local.pop_at(now, worker, budget, releases)
            actual = await redis.pop_at(now, worker, budget, releases)
            assert [grant_tuple(g) for g in actual.grants] == [
                grant_tuple(g) for g in expected.grants
            ], f"step {step}"
            assert (actual.now_us, actual.next_us) == (expected.now_us, expected.next_us)
            for grant in mine:
                outstanding.remove((worker, grant))
            seen.update("limited" if g.rate else "unlimited" for g in expected.grants)
            outstanding += [(worker, g) for g in expected.grants for _ in range(g.count)]
        elif action < 0.9 and outstanding:
            worker, grant = rng.choice(outstanding)
            verdict = rng.choice(["more", "dry", "park", "gate"])
            settled = Settlement(grant, rng.randint(0, grant.count), verdict, now + 500_000)
            local.settle_at(now, worker, [settled])
            await redis.settle_at(now, worker, [settled])
            seen[verdict] += 1
            for _ in range(grant.count - settled.used):
                if (worker, grant) in outstanding:
                    outstanding.remove((worker, grant))
        else:
            worker = rng.choice(["w1", "w2", "w3"])
            local.release_at(now, worker, [])
            await redis.release_at(now, worker, [])
    # (the run went through every kind of grant and settlement)
    assert min(seen[kind] for kind in ("limited", "unlimited", "more", "dry", "park", "gate")) > 5
