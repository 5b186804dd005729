"""The outbox sender: jobs go to the broker, wake-ups to the lanes, and a side that is
down is left alone for a while instead of slowing every commit."""

from collections.abc import Sequence
from datetime import UTC, datetime

import dramatiq
from dramatiq.brokers.stub import StubBroker

from app.delivery.lanes import LaneLimits, LocalLanes
from app.outbox import Job, LaneWork
from workers.broker import DELIVERY_QUEUE
from workers.queue import OutboxSender

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def queued(broker: StubBroker) -> list[str]:
    queue = broker.queues[DELIVERY_QUEUE]
    messages = []
    while not queue.empty():
        messages.append(dramatiq.Message.decode(queue.get_nowait()).actor_name)
    return messages


def stub_broker() -> StubBroker:
    broker = StubBroker()
    broker.declare_queue(DELIVERY_QUEUE)
    return broker


class DownLanes(LocalLanes):
    """Lanes whose Redis is unreachable: every touch fails, and is counted."""

    def __init__(self) -> None:
        super().__init__(LaneLimits(endpoint_in_flight=1, tenant_in_flight=1))
        self.tries = 0

    async def touch(self, work: Sequence[LaneWork]) -> None:
        self.tries += 1
        raise ConnectionError("redis is down")


async def test_jobs_go_to_the_broker_and_wake_ups_to_the_lanes() -> None:
    # Given a sender over an in-memory broker and in-memory lanes
    broker = stub_broker()
    lanes = LocalLanes(LaneLimits(endpoint_in_flight=1, tenant_in_flight=1))
    sender = OutboxSender(broker, lambda: lanes)
    # When a commit sends a replay job and a lane wake-up
    await sender.send([Job("replay.run", ("rpl_1",)), LaneWork("tnt_1", "ep_1", None, NOW)])
    # Then the job is queued and the lane is due
    assert queued(broker) == ["replay.run"]
    popped = await lanes.pop("w", 10, [])
    assert [(g.endpoint_id, g.count) for g in popped.grants] == [("ep_1", 1)]


async def test_lanes_that_are_down_are_left_alone_for_a_while() -> None:
    # Given lanes whose Redis is down
    lanes = DownLanes()
    sender = OutboxSender(stub_broker(), lambda: lanes, backoff_s=60)
    # When commits keep sending wake-ups, and a job
    for _ in range(5):
        await sender.send([LaneWork("tnt_1", "ep_1", None, NOW)])
    await sender.send([Job("replay.run", ("rpl_1",))])
    # Then none raised, the lanes were tried once, and the broker still got the job
    assert lanes.tries == 1
    assert queued(sender.broker) == ["replay.run"]
