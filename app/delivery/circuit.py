"""An endpoint's circuit breaker state (pure)."""

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
