from datetime import UTC, datetime, timedelta

from app.db.models import Endpoint
from app.delivery.circuit import circuit_state

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def endpoint(failures: int, open_until: datetime | None = None) -> Endpoint:
    return Endpoint(id="ep_x", consecutive_failures=failures, circuit_open_until=open_until)


def test_circuit_closed_below_threshold() -> None:
    assert circuit_state(endpoint(4), NOW, threshold=5) == "closed"


def test_circuit_open_during_cooldown_then_probe() -> None:
    assert circuit_state(endpoint(5, NOW + timedelta(seconds=1)), NOW, threshold=5) == "open"
    assert circuit_state(endpoint(5, NOW - timedelta(seconds=1)), NOW, threshold=5) == "probe"
    assert circuit_state(endpoint(9, None), NOW, threshold=5) == "probe"
