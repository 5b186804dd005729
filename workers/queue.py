"""Sending jobs to the broker after a commit (the ``JobSender`` of app.db.session)."""

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import dramatiq

from app.config import Settings
from app.db.session import Job
from app.delivery.jobs import ATTEMPT_ACTOR, MAX_BATCH, merge_attempt_jobs
from workers.broker import DELIVERY_QUEUE, create_broker

log = logging.getLogger("herald.queue")


class DramatiqSender:
    """Enqueues jobs on a Dramatiq broker; never raises.

    Attempt jobs are held for ``linger_s`` and merged, so concurrent publishes share a
    queue message (and a worker's round trips) instead of paying for one each.

    When the broker is unreachable the jobs are dropped with a warning (their deliveries
    stay due in the database and the scheduler enqueues them later), and for
    ``backoff_s`` no further send is tried, so publishing stays fast while Redis is down.
    """

    def __init__(self, broker: Any, backoff_s: float = 5.0, linger_s: float = 0.002) -> None:
        self.broker = broker
        self.backoff_s = backoff_s
        self.linger_s = linger_s
        self._down_until = 0.0
        # Appended to from any event loop of the process (herald dev runs two).
        self._lock = threading.Lock()
        self._held: list[Job] = []
        self._held_leases = 0
        self._flush_scheduled = False

    async def send(self, jobs: Sequence[Job]) -> None:
        attempts = [job for job in jobs if job.actor == ATTEMPT_ACTOR]
        others = [job for job in jobs if job.actor != ATTEMPT_ACTOR]
        if others:
            await self._enqueue(others)
        if attempts:
            await self._hold(attempts)

    async def _hold(self, attempts: Sequence[Job]) -> None:
        with self._lock:
            self._held.extend(attempts)
            self._held_leases += sum(len(job.args[0]) for job in attempts)
            full = self._held_leases >= MAX_BATCH
            schedule = not full and not self._flush_scheduled
            if schedule:
                self._flush_scheduled = True
        if full:
            await self._flush()
        elif schedule:
            asyncio.get_running_loop().call_later(
                self.linger_s, lambda: asyncio.ensure_future(self._flush())
            )

    async def _flush(self) -> None:
        with self._lock:
            held, self._held, self._held_leases = self._held, [], 0
            self._flush_scheduled = False
        if held:
            await self._enqueue(merge_attempt_jobs(held))

    async def _enqueue(self, jobs: Sequence[Job]) -> None:
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
