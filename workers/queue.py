"""Sending jobs to the broker after a commit (the ``JobSender`` of app.db.session)."""

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import dramatiq

from app.config import Settings
from app.db.session import Job
from workers.broker import DELIVERY_QUEUE, create_broker

log = logging.getLogger("herald.queue")


class DramatiqSender:
    """Enqueues jobs on a Dramatiq broker; never raises.

    When the broker is unreachable the jobs are dropped with a warning (their deliveries
    stay due in the database and the scheduler enqueues them later), and for
    ``backoff_s`` no further send is tried, so publishing stays fast while Redis is down.
    """

    def __init__(self, broker: Any, backoff_s: float = 5.0) -> None:
        self.broker = broker
        self.backoff_s = backoff_s
        self._down_until = 0.0

    async def send(self, jobs: Sequence[Job]) -> None:
        if time.monotonic() < self._down_until:
            return
        try:
            await asyncio.to_thread(self._enqueue_all, jobs)
        except Exception as exc:
            self._down_until = time.monotonic() + self.backoff_s
            log.warning(
                "broker unavailable (%s); %d jobs left to the scheduler",
                type(exc).__name__,
                len(jobs),
            )

    def _enqueue_all(self, jobs: Sequence[Job]) -> None:
        for job in jobs:
            self.broker.enqueue(
                dramatiq.Message(
                    queue_name=DELIVERY_QUEUE,
                    actor_name=job.actor,
                    args=job.args,
                    kwargs={},
                    options={},
                )
            )

    async def ping(self) -> None:
        client = getattr(self.broker, "client", None)
        if client is not None:
            await asyncio.to_thread(client.ping)


def sender_for(settings: Settings) -> DramatiqSender:
    """A sender for an API or scheduler process (which send jobs but run no actors)."""
    return DramatiqSender(create_broker(settings))
