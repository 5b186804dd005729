"""Per-process worker resources, created lazily inside the worker's event loop.

Database connections and the aiohttp session belong to the loop that made them, and
Dramatiq runs async actors on its own loop thread, so nothing loop-bound is built at
import or at boot: the first actor call builds it, later calls reuse it.
"""

import asyncio

from redis.asyncio import Redis

from app.config import Settings
from app.db.session import Database, JobSender
from app.delivery.client import create_session
from app.delivery.dispatch import DeliveryContext
from app.delivery.gates import InFlight
from app.delivery.keycache import SigningKeyCache
from app.delivery.ratelimit import LocalRateLimiter, RateLimiter, RedisRateLimiter
from app.delivery.ssrf import NetworkPolicy
from app.secretbox import SecretBox


class WorkerRuntime:
    def __init__(self, settings: Settings, sender: JobSender, box: SecretBox) -> None:
        self.settings = settings
        self.sender = sender
        self.box = box
        self._context: DeliveryContext | None = None
        self._lock: asyncio.Lock | None = None
        self._redis: Redis | None = None

    async def delivery_context(self) -> DeliveryContext:
        if self._context is None:
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:
                if self._context is None:
                    self._context = self._build()
        return self._context

    def _build(self) -> DeliveryContext:
        policy = NetworkPolicy(allowed=self.settings.allowed_private_networks)
        limiter: RateLimiter = LocalRateLimiter()
        if self.settings.redis_url:
            self._redis = Redis.from_url(self.settings.redis_url, socket_connect_timeout=2)
            limiter = RedisRateLimiter(self._redis)
        return DeliveryContext(
            settings=self.settings,
            database=Database(self.settings.database_url, sender=self.sender),
            http=create_session(policy),
            policy=policy,
            box=self.box,
            limiter=limiter,
            in_flight=InFlight(self.settings.max_in_flight_per_endpoint),
            keys=SigningKeyCache(self.box),
        )

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
        if self._context is not None:
            await self._context.close()
            await self._context.http.close()
            await self._context.database.dispose()
            self._context = None
