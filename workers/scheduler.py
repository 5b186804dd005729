"""The scheduler loop: lease due deliveries to jobs, forever, until asked to stop; and
once a minute, start purging messages past their project's retention.

Any number may run: each tick is one short transaction, and on PostgreSQL the leasing
query skips rows another scheduler holds; purging twice deletes nothing twice.
"""

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from app.config import Settings
from app.db.base import utcnow
from app.db.session import Database, commit
from app.delivery.due import lease_due_deliveries
from app.replays.batches import resume_stalled
from app.retention import purge_expired

log = logging.getLogger("herald.scheduler")

BATCH = 1000
PURGE_EVERY_S = 60.0


async def tick(database: Database, settings: Settings) -> int:
    """One pass: lease what is due now, resume stalled replays, send the jobs; return how
    many deliveries were leased."""
    async with database.session() as session:
        now = utcnow()
        leased = await lease_due_deliveries(session, settings, now, BATCH)
        await resume_stalled(session, now, timedelta(seconds=settings.requeue_after_s))
        await commit(session)
    return leased


async def purge(database: Database) -> int:
    """One batch of the retention purge (``app.retention``) in its own transaction;
    how many messages it deleted."""
    async with database.session() as session:
        deleted = await purge_expired(session, utcnow())
        await commit(session)
    return deleted


async def run_scheduler(database: Database, settings: Settings, stop: asyncio.Event) -> None:
    """Tick every ``scheduler_interval_s`` (at once again after a full batch) until ``stop``;
    purge expired messages every ``PURGE_EVERY_S``, a batch per tick until none are left."""
    log.info("scheduler started (every %.1fs)", settings.scheduler_interval_s)
    failures = 0
    next_purge = 0.0
    while not stop.is_set():
        try:
            leased = await tick(database, settings)
            if time.monotonic() >= next_purge:
                # One batch per tick, so a long purge never holds up leasing; the next
                # tick goes on while batches still find something.
                purged = await purge(database)
                next_purge = time.monotonic() + (0 if purged else PURGE_EVERY_S)
                if purged:
                    log.info("retention: %d expired messages purged", purged)
            failures = 0
        except Exception as exc:
            failures += 1
            leased = 0
            log.warning("scheduler tick failed (%s: %s); retrying", type(exc).__name__, exc)
        if leased >= BATCH:
            continue
        delay = settings.scheduler_interval_s * min(2**failures, 30)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
    log.info("scheduler stopped")
