"""The scheduler's watch on the job queue: a queue that was unreachable or restarted may
have lost jobs, and that stays known until a pass resumed what they carried; that pass
queues every unfinished replay again at once."""

from collections.abc import Sequence
from datetime import timedelta

import httpx
import pytest

from app.config import Settings
from app.db.base import utcnow
from app.db.session import Database
from app.outbox import OutboxItem
from tests.queue import RecordingSender
from workers import scheduler
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


@pytest.fixture
def job_sender() -> RecordingSender:
    return RecordingSender()


async def test_after_a_lost_queue_every_unfinished_replay_is_queued_again(
    api: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    job_sender: RecordingSender,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given three replays whose jobs the queue lost, resumed two per statement
    since = (utcnow() - timedelta(hours=1)).isoformat()
    for _ in range(3):
        reply = await api.post("/api/v1/replays", json={"since": since})
        assert reply.status_code == 202, reply.text
    queued = list(job_sender.jobs)
    monkeypatch.setattr(scheduler, "RESUME_BATCH", 2)
    # When a pass runs knowing the queue lost its jobs
    await scheduler.tick(database, settings, queue_lost_jobs=True)
    # Then each replay is queued again, at once, not after HERALD_REQUEUE_AFTER
    again = job_sender.jobs[len(queued) :]
    assert sorted(job.args for job in again) == sorted(job.args for job in queued)
    # And a pass that knows of no loss resumes none of them (they just made progress)
    await scheduler.tick(database, settings)
    assert len(job_sender.jobs) == 2 * len(queued)
