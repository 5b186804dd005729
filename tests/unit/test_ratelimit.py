import pytest
from redis.asyncio import Redis

from app.delivery.ratelimit import LocalRateLimiter, RateLimiter, RedisRateLimiter
from tests.services import RedisServer


async def book(limiter: RateLimiter, n: int, per_second: int = 20) -> list[float]:
    return [await limiter.reserve("ep_1", per_second, max_wait_s=2.0) for _ in range(n)]


async def test_local_limiter_spaces_slots_and_defers_beyond_max_wait() -> None:
    # Given 20/s: one slot every 50 ms
    waits = await book(LocalRateLimiter(), 41)
    # Then the k-th booking waits about k × 50 ms, and past 2 s nothing is booked
    assert waits[0] == 0
    assert waits[10] == pytest.approx(0.5, abs=0.02)
    assert waits[40] == pytest.approx(2.0, abs=0.02)
    assert await LocalRateLimiter().reserve("ep_2", 20, 2.0) == 0


async def test_redis_limiter_is_shared_between_processes(redis_server: RedisServer) -> None:
    # Given two workers (two clients) limiting the same endpoint at 20/s
    first, second = Redis.from_url(redis_server.url), Redis.from_url(redis_server.url)
    try:
        await first.delete("herald:rate:ep_1")
        a, b = RedisRateLimiter(first), RedisRateLimiter(second)
        # When they book alternately
        waits = [await (a if i % 2 else b).reserve("ep_1", 20, 2.0) for i in range(40)]
        # Then the slots interleave: 40 bookings span about 2 s, 50 ms apart
        assert waits[0] == pytest.approx(0.0, abs=0.02)
        assert waits[39] == pytest.approx(1.95, abs=0.05)
        # And a booking beyond the 2 s horizon is refused with the time until a free slot
        refused = await a.reserve("ep_1", 20, 0.5)
        assert refused < -0.5
    finally:
        await first.aclose()
        await second.aclose()
