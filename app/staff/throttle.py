"""Console sign-in throttling: failures counted per (e-mail, client address) and per
e-mail from any address, in the database so every API process shares the counts.

``MAX_FAILURES`` failures of one pair within ``FAILURE_WINDOW`` lock that pair for
``LOCKOUT``; ``MAX_ACCOUNT_FAILURES`` failures of one e-mail from any addresses within the
window lock the e-mail everywhere, so guesses spread over many addresses (a botnet, or
an IPv6 prefix) stay bounded too. The per e-mail count is the row whose ``client_ip`` is
``ANY_ADDRESS``, which ``address_key`` never gives for a client.

Each failure is one upsert that increments in SQL: concurrent failures neither collide
on insert nor overwrite each other's count.
"""

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, case, delete, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import UTCDateTime
from app.db.models import LoginFailure

MAX_FAILURES = 5
MAX_ACCOUNT_FAILURES = 20
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
ANY_ADDRESS = "*"

_FAILURES = cast(Table, LoginFailure.__table__)


def address_key(client_ip: str) -> str:
    """The ``client_ip`` column's value for a client's address: at most 64 characters,
    never ``ANY_ADDRESS`` (a trusted proxy may forward any string as the address)."""
    return "unknown" if client_ip == ANY_ADDRESS else client_ip[:64]


async def locked_until(
    session: AsyncSession, email: str, client_ip: str, now: datetime
) -> datetime | None:
    """When the lockout of ``email`` from ``client_ip`` (or from anywhere) ends; None if
    neither is locked at ``now``."""
    ends = (
        await session.scalars(
            select(_FAILURES.c.locked_until).where(
                _FAILURES.c.email == email,
                _FAILURES.c.client_ip.in_([client_ip, ANY_ADDRESS]),
                _FAILURES.c.locked_until > now,
            )
        )
    ).all()
    return max((end for end in ends if end is not None), default=None)


async def record_failure(
    session: AsyncSession, email: str, client_ip: str, now: datetime
) -> datetime | None:
    """Count one failure of ``email`` from ``client_ip``; when a lockout it started or
    extended ends (None when none did)."""
    ends = [
        await _count(session, email, client_ip, MAX_FAILURES, now),
        await _count(session, email, ANY_ADDRESS, MAX_ACCOUNT_FAILURES, now),
    ]
    return max((end for end in ends if end is not None and end > now), default=None)


async def forget_failures(session: AsyncSession, email: str, client_ip: str) -> None:
    """Clear the pair's count after a success. The e-mail's count from anywhere stays
    until its window ends, so a success does not restart an attacker's budget."""
    await session.execute(
        delete(_FAILURES).where(_FAILURES.c.email == email, _FAILURES.c.client_ip == client_ip)
    )


async def _count(
    session: AsyncSession, email: str, client_ip: str, limit: int, now: datetime
) -> datetime | None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    row = _FAILURES.c
    at = literal(now, UTCDateTime)
    # A count restarts once its window or its lockout is over.
    restart = or_(row.first_failed_at < now - FAILURE_WINDOW, row.locked_until <= now)
    statement = (
        insert(_FAILURES)
        .values(email=email, client_ip=client_ip, failures=1, first_failed_at=now)
        .on_conflict_do_update(
            index_elements=[row.email, row.client_ip],
            set_={
                "failures": case((restart, 1), else_=row.failures + 1),
                "first_failed_at": case((restart, at), else_=row.first_failed_at),
                "locked_until": case(
                    (restart, None),
                    (row.failures + 1 >= limit, literal(now + LOCKOUT, UTCDateTime)),
                    else_=row.locked_until,
                ),
            },
        )
        .returning(row.locked_until)
    )
    return cast(datetime | None, await session.scalar(statement))
