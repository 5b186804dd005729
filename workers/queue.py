"""Sending what commits buffered (the ``Sender`` of ``app.outbox``): jobs to the Dramatiq
broker, lane wake-ups to the delivery lanes."""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import dramatiq

from app.config import Settings
from app.delivery.lanes import Lanes
from app.outbox import Job, LaneWork, OutboxItem
from workers.broker import DELIVERY_QUEUE, create_broker
from workers.lanes import lanes_factory

log = logging.getLogger("herald.queue")


class OutboxSender:
    """Sends jobs and wake-ups; never raises.

    When the broker or the lanes are unreachable, what could not be sent is dropped with
    a warning (the deliveries stay due in the database and the scheduler finds them) and
    for ``backoff_s`` nothing more is tried on that side, so publishing stays fast while
    Redis is down.

    Lanes over Redis belong to the event loop that made them, so each loop that sends
    (``herald dev`` runs two) gets its own from ``make_lanes``.
    """

    def __init__(
        self, broker: Any, make_lanes: Callable[[], Lanes], backoff_s: float = 5.0
    ) -> None:
        self.broker = broker
        self.backoff_s = backoff_s
        self._make_lanes = make_lanes
        self._lanes: dict[asyncio.AbstractEventLoop, Lanes] = {}
        self._down_until = {"broker": 0.0, "lanes": 0.0}

    async def send(self, items: Sequence[OutboxItem]) -> None:
        jobs = [item for item in items if isinstance(item, Job)]
        work = [item for item in items if isinstance(item, LaneWork)]
        if work:
            await self._guarded("lanes", len(work), self.lanes().touch(work))
        if jobs:
            await self._guarded("broker", len(jobs), asyncio.to_thread(self._enqueue_all, jobs))

    def lanes(self) -> Lanes:
        """This event loop's lanes."""
        loop = asyncio.get_running_loop()
        if loop not in self._lanes:
            self._lanes[loop] = self._make_lanes()
        return self._lanes[loop]

    async def _guarded(self, side: str, count: int, call: Any) -> None:
        if time.monotonic() < self._down_until[side]:
            call.close()
            return
        try:
            await call
        except Exception as exc:
            self._down_until[side] = time.monotonic() + self.backoff_s
            log.warning(
                "%s unavailable (%s); %d left to the scheduler", side, type(exc).__name__, count
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

    async def ping(self) -> str | None:
        """Redis's ``run_id`` (new at every start: a restart lost the queues, as this
        Redis keeps nothing across one); None for the in-process broker. An answer ends
        any back-off: what is sent next is tried again."""
        client = getattr(self.broker, "client", None)
        if client is None:
            return None
        info = await asyncio.to_thread(client.info, "server")
        self._down_until = dict.fromkeys(self._down_until, 0.0)
        return str(info["run_id"])

    async def close(self) -> None:
        """Close the lanes of the running loop."""
        lanes = self._lanes.pop(asyncio.get_running_loop(), None)
        if lanes is not None:
            await lanes.close()


def sender_for(settings: Settings) -> OutboxSender:
    """A sender for an api or scheduler process (which send but run no actors)."""
    return OutboxSender(create_broker(settings), lanes_factory(settings))
