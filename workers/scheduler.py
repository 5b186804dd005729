"""The scheduler loop: wake the lane of every endpoint with deliveries due, and resume
stalled replays (at once, all of them, after the job queue restarted or was unreachable),
forever, until asked to stop; and once a minute, start purging messages past their
project's retention, old login failures and spent portal tokens.

Any number may run: each tick is one short transaction that writes nothing but replay
resumptions, waking a lane twice costs nothing, and purging twice deletes nothing twice.
"""

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from app.config import Settings
from app.db.base import utcnow
from app.db.session import Database, commit, enqueue_after_commit
from app.delivery.discovery import due_lanes
from app.outbox import Sender
from app.replays.batches import resume_stalled
from app.retention import purge_expired, purge_sign_in_records

log = logging.getLogger("herald.scheduler")

PURGE_EVERY_S = 60.0
MAX_BACKOFF_S = 2.0
RESUME_BATCH = 100  # stalled replays resumed per statement


class QueueWatch:
    """Notices when the job queue may have lost jobs: it was unreachable at a look, or it
    restarted (its run identity changed). ``lost`` stays true until ``resumed()``."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self.lost = False
        self._run: str | None = None

    async def look(self) -> bool:
        """Whether the queue can be reached now."""
        try:
            run = await self.sender.ping()
        except Exception:
            self.lost = True
            return False
        if self._run is not None and run != self._run:
            self.lost = True
        self._run = run
        return True

    def resumed(self) -> None:
        self.lost = False


async def tick(database: Database, settings: Settings, queue_lost_jobs: bool = False) -> int:
    """One pass: wake every lane with deliveries due, resume stalled replays (every
    unfinished one if the queue lost jobs), send the wake-ups and jobs; return how many
    lanes were woken."""
    stalled_after = timedelta(seconds=0 if queue_lost_jobs else settings.requeue_after_s)
    async with database.session() as session:
        now = utcnow()
        woken = await due_lanes(session, now)
        for work in woken:
            enqueue_after_commit(session, work)
        # After a lost queue, every unfinished replay (each batch is marked resumed now,
        # so the next one finds the rest); otherwise one batch of the stalled ones.
        resumed = await resume_stalled(session, now, stalled_after, limit=RESUME_BATCH)
        while queue_lost_jobs and len(resumed) == RESUME_BATCH:
            resumed = await resume_stalled(session, now, stalled_after, limit=RESUME_BATCH)
        await commit(session)
    return len(woken)


async def purge(database: Database) -> int:
    """One batch of each retention purge (``app.retention``: expired messages, and
    sign-in records that count no more) in its own transaction; how many rows it deleted."""
    async with database.session() as session:
        now = utcnow()
        messages = await purge_expired(session, now)
        sign_in_records = await purge_sign_in_records(session, now)
        await commit(session)
    if messages or sign_in_records:
        log.info(
            "retention: %d expired messages, %d old login failures and portal tokens purged",
            messages,
            sign_in_records,
        )
    return messages + sign_in_records


async def run_scheduler(database: Database, settings: Settings, stop: asyncio.Event) -> None:
    """Tick every ``scheduler_interval_s`` until ``stop``; purge expired rows every
    ``PURGE_EVERY_S``, a batch per tick until none are left."""
    log.info("scheduler started (every %.1fs)", settings.scheduler_interval_s)
    failures = 0
    next_purge = 0.0
    queue = QueueWatch(database.sender)
    while not stop.is_set():
        try:
            # What the queue lost is queued again once it can be reached.
            resume_all = await queue.look() and queue.lost
            await tick(database, settings, queue_lost_jobs=resume_all)
            if resume_all:
                log.info("the job queue was unreachable or restarted: replays resumed")
                queue.resumed()
            if time.monotonic() >= next_purge:
                # One batch per tick, so a long purge never holds up the lanes; the next
                # tick goes on while batches still find something.
                purged = await purge(database)
                next_purge = time.monotonic() + (0 if purged else PURGE_EVERY_S)
            failures = 0
        except Exception as exc:
            failures += 1
            log.warning("scheduler tick failed (%s: %s); retrying", type(exc).__name__, exc)
        delay = settings.scheduler_interval_s * 2**failures
        if failures:
            # Backing off spares a dependency that is down, but never by so much that
            # what fell due during an outage waits long after it ends.
            delay = min(delay, max(settings.scheduler_interval_s, MAX_BACKOFF_S))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
    log.info("scheduler stopped")
