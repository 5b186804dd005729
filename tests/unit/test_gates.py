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


def test_in_flight_caps_per_endpoint() -> None:
    # Given a cap of 2 requests in flight per endpoint
    gate = InFlight(cap=2)
    # When three are tried on one endpoint and one on another
    assert gate.try_acquire("a") and gate.try_acquire("a")
    assert not gate.try_acquire("a")
    assert gate.try_acquire("b")
    # Then a release frees a slot again
    gate.release("a")
    assert gate.try_acquire("a")
