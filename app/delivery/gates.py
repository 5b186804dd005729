"""What may hold a delivery back before it is sent: the endpoint's circuit breaker and
its cap on requests in flight. A held-back delivery is deferred, never failed."""

import asyncio
from collections import Counter
from datetime import datetime
from typing import Literal

from app.db.models import Endpoint

CircuitState = Literal["closed", "open", "probe"]


def circuit_state(endpoint: Endpoint, now: datetime, threshold: int) -> CircuitState:
    """``open`` while cooling down after ``threshold`` consecutive failures; ``probe`` once
    the cool-down is over (one attempt may test the endpoint); ``closed`` otherwise."""
    if endpoint.consecutive_failures < threshold:
        return "closed"
    if endpoint.circuit_open_until is not None and endpoint.circuit_open_until > now:
        return "open"
    return "probe"


class InFlight:
    """Requests in flight per endpoint in this process, capped so one slow endpoint cannot
    occupy every worker slot. A delivery waits a bounded time for a slot (a busy but
    healthy endpoint frees one in milliseconds); one that gets none is deferred instead.
    Used from one event loop."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._users: Counter[str] = Counter()  # holders and waiters, per endpoint

    async def acquire(self, endpoint_id: str, timeout_s: float) -> bool:
        """Take a slot within ``timeout_s``; False (nothing held) when none came free."""
        slot = self._slots.setdefault(endpoint_id, asyncio.Semaphore(self.cap))
        self._users[endpoint_id] += 1
        if not slot.locked():
            # A free slot and nobody queued for it, the common case: no timer to arm.
            await slot.acquire()
            return True
        try:
            # A deadline on this task, not wait_for's extra task per waiting delivery.
            async with asyncio.timeout(timeout_s):
                await slot.acquire()
        except TimeoutError:
            self._forget(endpoint_id)
            return False
        return True

    def release(self, endpoint_id: str) -> None:
        self._slots[endpoint_id].release()
        self._forget(endpoint_id)

    def _forget(self, endpoint_id: str) -> None:
        # An endpoint nobody holds or waits for has a full semaphore: drop it, so the
        # map stays as small as the set of endpoints being worked on.
        self._users[endpoint_id] -= 1
        if self._users[endpoint_id] <= 0:
            del self._users[endpoint_id]
            del self._slots[endpoint_id]
