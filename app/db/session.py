"""Engines, sessions, and the rule that work leaves only after its transaction commits.

A service that wants work done afterwards calls ``enqueue_after_commit(session, item)``
(``app.outbox``: a job or a lane wake-up); the boundary (request or actor) calls
``commit(session)``, which commits and only then hands the buffered items to the
session's ``Sender``. A rollback drops them.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.db.base import from_json_text, json_text
from app.outbox import DiscardingSender, OutboxItem, Sender

_OUTBOX_KEY = "herald.outbox"


class Database:
    """One engine and its session factory; ``sender`` receives the outbox after each commit."""

    def __init__(self, url: str, sender: Sender | None = None, **engine_options: Any) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url, **engine_options)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._autocommit_sessionmaker = async_sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )
        self.sender: Sender = sender or DiscardingSender()

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @asynccontextmanager
    async def session(self, *, autocommit: bool = False) -> AsyncIterator[AsyncSession]:
        """A session whose outbox goes to this database's sender; rolled back if not committed.

        ``autocommit``: no transaction, each statement commits on its own (no BEGIN or
        COMMIT round trips); only for reads and writes made in one statement.
        ``commit(session)`` still sends the outbox.
        """
        maker = self._autocommit_sessionmaker if autocommit else self.sessionmaker
        async with maker() as session:
            session.info["herald.sender"] = self.sender
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def create_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine; on SQLite, WAL, foreign keys and write-intent transactions.

    Statement parameters (payloads, secrets, tenants' values) never appear in the text
    of a database error, so not in a log line or a stored error either.
    """
    options.setdefault("hide_parameters", True)
    options.setdefault("json_serializer", json_text)
    options.setdefault("json_deserializer", from_json_text)
    if not url.startswith("sqlite"):
        options.setdefault("pool_size", 10)
        options.setdefault("max_overflow", 20)
        # Pre-ping: a connection is checked as it leaves the pool (one short round trip
        # per transaction; the hot paths batch, so per batch), and one that died with
        # the server (a restart, a failover) is replaced instead of failing the first
        # request, claim or record after the database comes back.
        options.setdefault("pool_pre_ping", True)
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


def enqueue_after_commit(session: AsyncSession, item: OutboxItem) -> None:
    """Buffer ``item``; it is sent only if and when ``commit(session)`` succeeds."""
    session.info.setdefault(_OUTBOX_KEY, []).append(item)


async def commit(session: AsyncSession) -> None:
    """Commit, then send what this transaction buffered."""
    await session.commit()
    items: list[OutboxItem] = session.info.pop(_OUTBOX_KEY, [])
    if items:
        sender: Sender = session.info.get("herald.sender") or DiscardingSender()
        await sender.send(items)


async def rollback(session: AsyncSession) -> None:
    """Roll back and forget what this transaction buffered."""
    session.info.pop(_OUTBOX_KEY, None)
    await session.rollback()
