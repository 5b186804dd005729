"""Which delivery lanes a process uses: Redis's, shared by every process, or, without
Redis (``herald dev``), one ``LocalLanes`` shared by the process's threads."""

from collections.abc import Callable

from redis.asyncio import Redis

from app.config import Settings
from app.delivery.lanes import LaneLimits, Lanes, LocalLanes
from app.delivery.lanes_redis import RedisLanes


def lane_limits(settings: Settings) -> LaneLimits:
    return LaneLimits(
        endpoint_in_flight=settings.max_in_flight_per_endpoint,
        tenant_in_flight=settings.max_in_flight_per_tenant,
        # A worker that has not been heard of for two request timeouts and more is gone.
        pump_ttl_us=int(max(30.0, settings.request_timeout_s * 2 + 10) * 1_000_000),
    )


def lanes_factory(settings: Settings) -> Callable[[], Lanes]:
    """Makes lanes for the calling event loop (a Redis client belongs to one loop)."""
    limits = lane_limits(settings)
    redis_url = settings.redis_url
    if redis_url:
        return lambda: RedisLanes(Redis.from_url(redis_url, socket_connect_timeout=2), limits)
    local = LocalLanes(limits)
    return lambda: local
