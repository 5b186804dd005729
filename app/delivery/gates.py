"""What may hold a delivery back before it is sent: the endpoint's circuit breaker and
its cap on requests in flight. A held-back delivery is deferred, never failed."""

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
    """Requests in flight per endpoint in this process, capped so one slow endpoint
    cannot occupy every worker slot. Used from one event loop: no locking needed."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._counts: Counter[str] = Counter()

    def try_acquire(self, endpoint_id: str) -> bool:
        if self._counts[endpoint_id] >= self.cap:
            return False
        self._counts[endpoint_id] += 1
        return True

    def release(self, endpoint_id: str) -> None:
        self._counts[endpoint_id] -= 1
        if self._counts[endpoint_id] <= 0:
            del self._counts[endpoint_id]
