"""Dramatiq actors. Each is a thin wrapper over a testable ``async def`` in app/."""

from typing import Any

import dramatiq

from app.delivery.dispatch import attempt_deliveries
from app.delivery.jobs import ATTEMPT_ACTOR
from app.replays.batches import run_replay_step
from app.replays.service import REPLAY_ACTOR
from workers.broker import DELIVERY_QUEUE
from workers.runtime import WorkerRuntime


def register_actors(broker: Any, runtime: WorkerRuntime) -> None:
    """Declare Herald's actors on ``broker``, bound to ``runtime``'s resources."""

    async def attempt(leases: dict[str, str]) -> None:
        await attempt_deliveries(await runtime.delivery_context(), leases)

    dramatiq.actor(
        broker=broker,
        actor_name=ATTEMPT_ACTOR,
        queue_name=DELIVERY_QUEUE,
        # Retries live in the database (each delivery's next_attempt_at), not in Dramatiq.
        max_retries=0,
        time_limit=int((runtime.settings.request_timeout_s * 2 + 120) * 1000),
    )(attempt)

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
