"""The scheduler's watch on the job queue: a queue that was unreachable or restarted may
have lost jobs, and that stays known until a pass resumed what they carried."""

from collections.abc import Sequence

from app.outbox import OutboxItem
from workers.scheduler import QueueWatch


class ScriptedQueue:
    """A sender whose ``ping`` answers the next of ``runs`` (an exception is raised)."""

    def __init__(self, *runs: str | Exception) -> None:
        self.runs = list(runs)

    async def send(self, items: Sequence[OutboxItem]) -> None:
        return None

    async def ping(self) -> str | None:
        run = self.runs.pop(0)
        if isinstance(run, Exception):
            raise run
        return run


async def test_a_steady_queue_lost_nothing() -> None:
    watch = QueueWatch(ScriptedQueue("run-1", "run-1", "run-1"))
    assert [await watch.look() for _ in range(3)] == [True, True, True]
    assert not watch.lost


async def test_a_restarted_queue_lost_its_jobs_until_resumed() -> None:
    watch = QueueWatch(ScriptedQueue("run-1", "run-2", "run-2"))
    await watch.look()
    assert await watch.look() and watch.lost
    watch.resumed()
    assert await watch.look() and not watch.lost


async def test_an_unreachable_queue_may_have_lost_jobs_once_it_answers() -> None:
    watch = QueueWatch(ScriptedQueue(ConnectionError("down"), ConnectionError("down"), "run-1"))
    assert not await watch.look() and watch.lost
    assert not await watch.look() and watch.lost
    assert await watch.look() and watch.lost  # reachable again: now resume what it carried
