"""Which of a tenant's endpoints a message goes to (pure)."""

from collections.abc import Sequence

from app.db.models import Endpoint


def wants(endpoint: Endpoint, event_type: str, channels: Sequence[str] | None) -> bool:
    """True when ``endpoint`` should receive a message of ``event_type`` on ``channels``.

    Disabled endpoints receive nothing. An endpoint without an event-type filter takes
    every type; an endpoint with channels takes only messages on one of them.
    """
    if endpoint.disabled:
        return False
    if endpoint.event_types is not None and event_type not in endpoint.event_types:
        return False
    if endpoint.channels is not None:
        return bool(channels) and not set(endpoint.channels).isdisjoint(channels or ())
    return True
