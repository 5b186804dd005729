"""Running a replay: short batches, each its own transaction, resumable after a crash.

A batch locks the replay row, takes the next ``batch_size`` matching deliveries after
``cursor`` (by id), makes them due now with ``next_trigger='replay'`` under a fresh
lease (``request_attempts``: their attempt jobs leave after the commit), and advances
``cursor``/``done`` in the same transaction. So a batch is done entirely or not at all,
and a crash resumes after the last committed batch.

Idempotent re-run: a delivery that is already due under a replay, or whose attempt is
queued or in flight (a live lease), is skipped rather than leased again, so running the
same replay twice, or two replays over the same deliveries, never sends one twice while
the first request is pending. Deliveries that failed again after their replayed attempt
are resent by a later replay: that is what a re-run is for.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.base import utcnow
from app.db.models import Delivery, Replay
from app.db.session import Database, commit, enqueue_after_commit
from app.ids import id_floor
from app.messages.service import request_attempts
from app.replays.matching import ReplayFilter, matching
from app.replays.service import FINISHED, replay_job

log = logging.getLogger("herald.replays")

BATCH_SIZE = 500
REPLAY_FAILED = "the replay stopped on an internal error; Herald's logs have the details"


async def run_batch(
    session: AsyncSession, settings: Settings, replay_id: str, batch_size: int = BATCH_SIZE
) -> Replay | None:
    """Process the replay's next batch (flush only); return the replay, None if gone.

    A finished replay is returned unchanged. The last, short batch completes it.
    """
    replay = await _locked(session, replay_id)
    if replay is None or replay.status in FINISHED:
        return replay
    now = utcnow()
    cursor = replay.cursor or id_floor("dlv", replay.since)
    batch = (
        await session.scalars(
            matching(replay.project_id, ReplayFilter.of(replay))
            .where(Delivery.id > cursor)
            .order_by(Delivery.id)
            .limit(batch_size)
        )
    ).all()
    wanted = [delivery for delivery in batch if not _pending(delivery, now)]
    if wanted:
        await request_attempts(session, wanted, trigger="replay")
    replay.status = "running" if len(batch) == batch_size else "completed"
    replay.done += len(batch)
    replay.requeued += len(wanted)
    replay.skipped += len(batch) - len(wanted)
    replay.cursor = batch[-1].id if batch else replay.cursor
    replay.progressed_at = now
    replay.finished_at = now if replay.status == "completed" else None
    await session.flush()
    return replay


def _pending(delivery: Delivery, now: datetime) -> bool:
    """True when an attempt is already wanted by a replay or queued/in flight."""
    if delivery.next_trigger == "replay" and delivery.next_attempt_at is not None:
        return True
    return delivery.lease_until is not None and delivery.lease_until > now


async def _locked(session: AsyncSession, replay_id: str) -> Replay | None:
    # Two jobs of one replay (a resumed one beside a slow one) take turns here, and the
    # second sees the first's cursor. SQLite's write transactions are already exclusive.
    stmt = select(Replay).where(Replay.id == replay_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def run_replay_step(
    database: Database, settings: Settings, replay_id: str, batch_size: int | None = None
) -> Replay | None:
    """The ``replay.run`` job: one batch (``BATCH_SIZE`` unless given), committed, then
    the job for the next one.

    A transient database error leaves the replay to the scheduler's ``resume_stalled``;
    any other error is logged and marks it failed (``REPLAY_FAILED``) in a new transaction.
    """
    try:
        async with database.session() as session:
            replay = await run_batch(session, settings, replay_id, batch_size or BATCH_SIZE)
            if replay is not None and replay.status not in FINISHED:
                enqueue_after_commit(session, replay_job(replay_id))
            await commit(session)
        return replay
    except (OperationalError, InterfaceError):
        # Transient (database away or locked): the replay stays as it was and the
        # scheduler resumes it once it has been silent for a while.
        raise
    except Exception:
        # The exception's text can hold SQL and internals: it goes to the log, and the
        # replay, which tenants and the console see, keeps a sentence.
        log.exception("replay %s failed", replay_id)
        await _mark_failed(database, replay_id, REPLAY_FAILED)
        raise


async def run_replay(
    database: Database,
    settings: Settings,
    replay_id: str,
    on_progress: Callable[[Replay], Awaitable[None] | None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> Replay:
    """Run every remaining batch in this process, a commit each (the CLI's path)."""
    while True:
        async with database.session() as session:
            replay = await run_batch(session, settings, replay_id, batch_size)
            await commit(session)
        if replay is None:
            raise LookupError(f"replay {replay_id} does not exist")
        if on_progress is not None:
            result = on_progress(replay)
            if result is not None:
                await result
        if replay.status in FINISHED:
            return replay


async def _mark_failed(database: Database, replay_id: str, error: str) -> None:
    async with database.session() as session:
        await session.execute(
            update(Replay)
            .where(Replay.id == replay_id, Replay.status.not_in(FINISHED))
            .values(status="failed", error=error[:2000], finished_at=utcnow())
        )
        await commit(session)


async def resume_stalled(
    session: AsyncSession, now: datetime, stalled_after: timedelta, limit: int = 100
) -> Sequence[str]:
    """Queue again the replays left queued or running with no progress for ``stalled_after``.

    Their job was lost (broker restart, killed worker or CLI). Touching ``progressed_at``
    here keeps other schedulers from queueing the same replay on the same tick; a
    duplicate job is harmless anyway (``run_batch`` locks the replay and follows its
    cursor). Returns the ids queued; the jobs leave after the caller commits.
    """
    stalled = (
        await session.scalars(
            select(Replay.id)
            .where(
                Replay.status.in_(("queued", "running")),
                Replay.progressed_at < now - stalled_after,
            )
            .order_by(Replay.progressed_at)
            .limit(limit)
        )
    ).all()
    if not stalled:
        return []
    await session.execute(
        update(Replay)
        .where(Replay.id.in_(stalled))
        .values(progressed_at=now)
        .execution_options(synchronize_session=False)
    )
    for replay_id in stalled:
        log.info("resuming stalled replay %s", replay_id)
        enqueue_after_commit(session, replay_job(replay_id))
    return stalled
