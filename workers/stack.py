"""Assembling a worker: broker, sender, runtime, actors and the delivery pump of one
process."""

from dataclasses import dataclass
from typing import Any

from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from app.config import Settings
from app.secretbox import secret_box_for
from workers.actors import register_actors
from workers.broker import create_broker
from workers.lanes import lanes_factory
from workers.queue import OutboxSender
from workers.runtime import WorkerRuntime


class RunDeliveries(Middleware):  # type: ignore[misc]
    """Runs the runtime's delivery pump on the actors' event loop while the worker runs,
    and closes the runtime (HTTP session, engine, lanes) before the AsyncIO middleware
    stops that loop (installed after it: Dramatiq runs ``after_*`` hooks in reverse
    order, so this one's run first)."""

    def __init__(self, runtime: WorkerRuntime) -> None:
        self.runtime = runtime

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            loop_thread.run_coroutine(self.runtime.start_pump())

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            loop_thread.run_coroutine(self.runtime.stop_pump())

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            loop_thread.run_coroutine(self.runtime.close())


@dataclass(frozen=True)
class WorkerStack:
    broker: Any
    sender: OutboxSender
    runtime: WorkerRuntime


def build_worker_stack(settings: Settings) -> WorkerStack:
    """The broker with Herald's actors declared and the delivery pump attached, ready for
    a Dramatiq ``Worker``."""
    box = secret_box_for(settings)
    if box is None:
        raise ValueError("HERALD_SECRET_KEY is required to open endpoint secrets")
    broker = create_broker(settings)
    make_lanes = lanes_factory(settings)
    sender = OutboxSender(broker, make_lanes)
    runtime = WorkerRuntime(settings, sender, box, make_lanes)
    broker.add_middleware(RunDeliveries(runtime))
    register_actors(broker, runtime)
    return WorkerStack(broker, sender, runtime)
