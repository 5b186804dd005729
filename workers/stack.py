"""Assembling a worker: broker, sender, runtime and actors for one process."""

from dataclasses import dataclass
from typing import Any

from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from app.config import Settings
from app.secretbox import secret_box_for
from workers.actors import register_actors
from workers.broker import create_broker
from workers.queue import DramatiqSender
from workers.runtime import WorkerRuntime


class CloseRuntime(Middleware):  # type: ignore[misc]
    """Closes the runtime's HTTP session and engine on the actors' loop once the worker
    threads have finished, before the AsyncIO middleware stops that loop (installed after
    it: Dramatiq runs ``after_*`` hooks in reverse order, so this one runs first)."""

    def __init__(self, runtime: WorkerRuntime) -> None:
        self.runtime = runtime

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            loop_thread.run_coroutine(self.runtime.close())


@dataclass(frozen=True)
class WorkerStack:
    broker: Any
    sender: DramatiqSender
    runtime: WorkerRuntime


def build_worker_stack(settings: Settings) -> WorkerStack:
    """The broker with Herald's actors declared, ready for a Dramatiq ``Worker``."""
    box = secret_box_for(settings)
    if box is None:
        raise ValueError("HERALD_SECRET_KEY is required to open endpoint secrets")
    broker = create_broker(settings)
    sender = DramatiqSender(broker)
    runtime = WorkerRuntime(settings, sender, box)
    broker.add_middleware(CloseRuntime(runtime))
    register_actors(broker, runtime)
    return WorkerStack(broker, sender, runtime)
