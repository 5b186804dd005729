"""Dramatiq actors. Each is a thin wrapper over a testable ``async def`` in app/.

Deliveries are not actors: the delivery pump (``app.delivery.pump``) takes them from the
fair lanes. Actors run the jobs that are not deliveries.
"""

from typing import Any

import dramatiq

from app.replays.batches import run_replay_step
from app.replays.service import REPLAY_ACTOR
from workers.broker import DELIVERY_QUEUE
from workers.runtime import WorkerRuntime


def register_actors(broker: Any, runtime: WorkerRuntime) -> None:
    """Declare Herald's actors on ``broker``, bound to ``runtime``'s resources."""

    async def replay(replay_id: str) -> None:
        context = await runtime.delivery_context()
        await run_replay_step(context.database, runtime.settings, replay_id)

    dramatiq.actor(
        broker=broker,
        actor_name=REPLAY_ACTOR,
        queue_name=DELIVERY_QUEUE,
        # A lost or failed batch is resumed by the scheduler (replays.resume_stalled).
        max_retries=0,
        time_limit=300_000,
    )(replay)
