"""Which delivery lanes a process uses: Redis's, shared by every process, or, without
Redis (``herald dev``), one ``LocalLanes`` shared by the process's threads."""

from collections.abc import Callable

from redis.asyncio import Redis

from app.config import Settings
from app.delivery.lanes import LaneLimits, Lanes, LocalLanes
from app.delivery.lanes_redis import RedisLanes

# A pump beats its heart at every pop and release: at least every second while it runs,
# whatever its requests are doing. One not heard of for 10 s is gone (killed, or cut off
# from Redis): what it held is released for it, so a crash blocks no lane for longer.
# Should it come back, its late releases only let a cap be exceeded for a moment; its
# deliveries stay leased in the database, so none is sent twice.
PUMP_TTL_US = 10_000_000


def lane_limits(settings: Settings) -> LaneLimits:
    return LaneLimits(
        endpoint_in_flight=settings.max_in_flight_per_endpoint,
        tenant_in_flight=settings.max_in_flight_per_tenant,
        pump_ttl_us=PUMP_TTL_US,
    )


def lanes_factory(settings: Settings) -> Callable[[], Lanes]:
    """Makes lanes for the calling event loop (a Redis client belongs to one loop)."""
    limits = lane_limits(settings)
    redis_url = settings.redis_url
    if redis_url:
        return lambda: RedisLanes(Redis.from_url(redis_url, socket_connect_timeout=2), limits)
    local = LocalLanes(limits)
    return lambda: local
