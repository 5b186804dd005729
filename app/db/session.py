"""Engines, sessions, and the rule that jobs leave only after their transaction commits.

A service that wants work done asynchronously calls ``enqueue_after_commit(session, job)``;
the boundary (request or actor) calls ``commit(session)``, which commits and only then
hands the buffered jobs to the session's ``JobSender``. A rollback drops them.
"""

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.db.base import from_json_text, json_text

log = logging.getLogger(__name__)

_JOBS_KEY = "herald.jobs"


@dataclass(frozen=True)
class Job:
    """A queue message: an actor name and JSON-safe positional arguments (ids, tokens)."""

    actor: str
    args: tuple[Any, ...]


class JobSender(Protocol):
    async def send(self, jobs: Sequence[Job]) -> None:
        """Hand jobs to the queue. Must not raise: a lost job is recovered by the scheduler."""

    async def ping(self) -> None:
        """Raise if the queue cannot be reached."""


class DiscardingSender:
    """A sender for processes that never enqueue (migrations, CLI): drops jobs."""

    async def send(self, jobs: Sequence[Job]) -> None:
        if jobs:
            log.debug("discarding %d jobs: no queue in this process", len(jobs))

    async def ping(self) -> None:
        return None


class Database:
    """One engine and its session factory; ``sender`` receives jobs after each commit."""

    def __init__(self, url: str, sender: JobSender | None = None, **engine_options: Any) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url, **engine_options)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._autocommit_sessionmaker = async_sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )
        self.sender: JobSender = sender or DiscardingSender()

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @asynccontextmanager
    async def session(self, *, autocommit: bool = False) -> AsyncIterator[AsyncSession]:
        """A session whose jobs go to this database's sender; rolled back if not committed.

        ``autocommit``: no transaction, each statement commits on its own (no BEGIN or
        COMMIT round trips); only for reads and writes made in one statement.
        ``commit(session)`` still sends the jobs.
        """
        maker = self._autocommit_sessionmaker if autocommit else self.sessionmaker
        async with maker() as session:
            session.info["herald.sender"] = self.sender
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def create_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine; on SQLite, WAL, foreign keys and write-intent transactions."""
    options.setdefault("json_serializer", json_text)
    options.setdefault("json_deserializer", from_json_text)
    if not url.startswith("sqlite"):
        options.setdefault("pool_size", 10)
        options.setdefault("max_overflow", 20)
        # No pre-ping: it is one more round trip per transaction on the hot paths. After
        # a database restart the first statement on a stale connection fails instead
        # (a 503 for a request, a failed job whose deliveries the scheduler re-enqueues)
        # and that failure invalidates the whole pool, so only one fails.
        options.setdefault("pool_pre_ping", False)
        options.setdefault("pool_recycle", 1800)
        return create_async_engine(url, **options)
    engine = create_async_engine(url, connect_args={"timeout": 30}, **options)
    event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
    event.listen(engine.sync_engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (see _begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_immediate(connection: Connection) -> None:
    # A deferred transaction that later writes can fail with "database is locked"
    # without waiting for the busy timeout; taking the write lock up front makes every
    # writer wait its turn instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def enqueue_after_commit(session: AsyncSession, job: Job) -> None:
    """Buffer ``job``; it is sent only if and when ``commit(session)`` succeeds."""
    session.info.setdefault(_JOBS_KEY, []).append(job)


async def commit(session: AsyncSession) -> None:
    """Commit, then send the jobs buffered in this transaction."""
    await session.commit()
    jobs: list[Job] = session.info.pop(_JOBS_KEY, [])
    if jobs:
        sender: JobSender = session.info.get("herald.sender") or DiscardingSender()
        await sender.send(jobs)


async def rollback(session: AsyncSession) -> None:
    """Roll back and forget the jobs buffered in this transaction."""
    session.info.pop(_JOBS_KEY, None)
    await session.rollback()
