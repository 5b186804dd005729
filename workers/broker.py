"""The Dramatiq broker: Redis in production, the in-process stub for ``herald dev``."""

from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware.asyncio import AsyncIO

from app.config import Settings

DELIVERY_QUEUE = "deliveries"


def create_broker(settings: Settings) -> Any:
    """A broker for ``settings`` with async actors enabled, installed as Dramatiq's global."""
    broker: Any
    if settings.redis_url:
        broker = RedisBroker(
            url=settings.redis_url,
            # Fail fast when Redis is down: publishing must not hang on it (the scheduler
            # re-enqueues whatever could not be sent).
            socket_connect_timeout=2,
            socket_timeout=5,
            health_check_interval=15,
            retry_on_timeout=True,
        )
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    broker.add_middleware(AsyncIO())
    broker.declare_queue(DELIVERY_QUEUE)
    dramatiq.set_broker(broker)
    return broker
