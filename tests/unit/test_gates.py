import asyncio
from datetime import UTC, datetime, timedelta

from app.db.models import Endpoint
from app.delivery.gates import InFlight, circuit_state

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def endpoint(failures: int, open_until: datetime | None = None) -> Endpoint:
    return Endpoint(id="ep_x", consecutive_failures=failures, circuit_open_until=open_until)


def test_circuit_closed_below_threshold() -> None:
    assert circuit_state(endpoint(4), NOW, threshold=5) == "closed"


def test_circuit_open_during_cooldown_then_probe() -> None:
    assert circuit_state(endpoint(5, NOW + timedelta(seconds=1)), NOW, threshold=5) == "open"
    assert circuit_state(endpoint(5, NOW - timedelta(seconds=1)), NOW, threshold=5) == "probe"
    assert circuit_state(endpoint(9, None), NOW, threshold=5) == "probe"


async def test_in_flight_caps_per_endpoint_and_waits_boundedly() -> None:
    # Given a cap of 2 requests in flight per endpoint, both taken on "a"
    gate = InFlight(cap=2)
    assert await gate.acquire("a", 0.1) and await gate.acquire("a", 0.1)
    # When a third asks, it waits, and gets nothing within its bound
    assert not await gate.acquire("a", 0.05)
    # While another endpoint is unaffected
    assert await gate.acquire("b", 0.01)

    # And a waiter gets the slot as soon as one is released
    async def release_soon() -> None:
        await asyncio.sleep(0.05)
        gate.release("a")

    releaser = asyncio.create_task(release_soon())
    assert await gate.acquire("a", 1.0)
    await releaser
    for endpoint in ("a", "a", "b"):
        gate.release(endpoint)
    assert gate._slots == {}  # idle endpoints are forgotten


async def test_a_free_slot_is_taken_at_once_even_with_no_time_to_wait() -> None:
    # Given an endpoint with a free slot
    gate = InFlight(cap=1)
    # When a delivery asks with no time at all to wait, it gets the slot
    assert await gate.acquire("a", 0)
    # And the next one, with the slot taken, does not
    assert not await gate.acquire("a", 0)
    gate.release("a")
    assert gate._slots == {}
