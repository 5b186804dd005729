"""Per-process worker resources, created lazily inside the worker's event loop, and the
delivery pump that runs on it.

Database connections, the aiohttp session and the Redis client belong to the loop that
made them, and Dramatiq runs async work on its own loop thread, so nothing loop-bound is
built at import or at boot: the pump (started once the worker has booted) and the first
actor call build it, later ones reuse it.
"""

import asyncio
from collections.abc import Callable
from typing import Any

from app.config import Settings
from app.db.session import Database
from app.delivery.client import create_session
from app.delivery.keycache import SigningKeyCache
from app.delivery.lanes import Lanes
from app.delivery.pump import DeliveryContext, Pump
from app.delivery.ssrf import NetworkPolicy
from app.outbox import Sender
from app.secretbox import SecretBox


class WorkerRuntime:
    def __init__(
        self, settings: Settings, sender: Sender, box: SecretBox, make_lanes: Callable[[], Lanes]
    ) -> None:
        self.settings = settings
        self.sender = sender
        self.box = box
        self._make_lanes = make_lanes
        self._context: DeliveryContext | None = None
        self._lock: asyncio.Lock | None = None
        self._stop: asyncio.Event | None = None
        self._pump: asyncio.Task[None] | None = None

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
        return DeliveryContext(
            settings=self.settings,
            database=Database(
                self.settings.database_url,
                sender=self.sender,
                **_worker_engine_options(self.settings),
            ),
            http=create_session(policy, limit=self.settings.worker_concurrency),
            policy=policy,
            lanes=self._make_lanes(),
            keys=SigningKeyCache(self.box),
        )

    async def start_pump(self) -> None:
        """Start delivering, on the running loop, until ``stop_pump``."""
        self._stop = asyncio.Event()
        pump = Pump(await self.delivery_context())
        self._pump = asyncio.create_task(pump.run(self._stop))

    async def stop_pump(self) -> None:
        """Stop popping work and finish what is in hand."""
        if self._stop is not None and self._pump is not None:
            self._stop.set()
            await self._pump
        self._stop = self._pump = None

    async def close(self) -> None:
        await self.stop_pump()
        if self._context is not None:
            await self._context.close()
            await self._context.http.close()
            await self._context.lanes.close()
            await self._context.database.dispose()
            self._context = None


def _worker_engine_options(settings: Settings) -> dict[str, Any]:
    """On PostgreSQL, no bitmap scans in a worker's sessions. A claim takes an endpoint's
    oldest due deliveries with ``ORDER BY next_attempt_at LIMIT n`` on the endpoint's
    lane index; for a burst its statistics do not know yet, the planner guesses a few
    rows and picks a bitmap scan that reads and sorts every due row of the endpoint:
    7 ms a claim with 5 000 waiting, growing with the backlog. The index scan reads n
    rows. Every other statement of a worker looks rows up by key, where bitmap scans
    bring nothing."""
    if not settings.database_url.startswith("postgresql"):
        return {}
    return {"connect_args": {"server_settings": {"enable_bitmapscan": "off"}}}
