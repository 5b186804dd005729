"""The sender merges attempt jobs that commit close together into one queue message."""

import asyncio

import dramatiq
from dramatiq.brokers.stub import StubBroker

from app.db.session import Job
from app.delivery.jobs import MAX_BATCH, attempt_jobs
from workers.broker import DELIVERY_QUEUE
from workers.queue import DramatiqSender


def queued(broker: StubBroker) -> list[dict[str, str]]:
    queue = broker.queues[DELIVERY_QUEUE]
    messages = []
    while not queue.empty():
        messages.append(queue.get_nowait())
    return [dramatiq.Message.decode(m).args[0] for m in messages]


async def test_jobs_within_the_linger_window_share_one_message() -> None:
    # Given a sender over an in-memory broker
    broker = StubBroker()
    broker.declare_queue(DELIVERY_QUEUE)
    sender = DramatiqSender(broker, linger_s=0.02)
    # When three publishes' jobs are sent within the window
    for n in range(3):
        await sender.send(attempt_jobs(f"t{n}", [f"d{n}"]))
    assert queued(broker) == []
    await asyncio.sleep(0.1)
    # Then one message carries all three leases
    assert queued(broker) == [{"d0": "t0", "d1": "t1", "d2": "t2"}]


async def test_a_full_batch_leaves_at_once_and_other_jobs_are_not_held() -> None:
    broker = StubBroker()
    broker.declare_queue(DELIVERY_QUEUE)
    sender = DramatiqSender(broker, linger_s=10)
    await sender.send(attempt_jobs("t", [f"d{n}" for n in range(MAX_BATCH)]))
    await sender.send([Job("replay.run", ("rpl_1",))])
    assert len(queued(broker)) == 2
