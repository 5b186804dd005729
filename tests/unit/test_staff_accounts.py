"""Staff accounts: argon2id hashes, sign-in, and the lockouts per (e-mail, address) and
per e-mail; on SQLite and on PostgreSQL (the failure counts are dialect-specific upserts)."""

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models import LoginFailure, StaffAccount
from app.db.session import Database, commit
from app.errors import Conflict, NotFound, ValidationFailed
from app.staff.service import SignIn, create_staff, sign_in
from app.staff.throttle import ANY_ADDRESS, LOCKOUT, MAX_ACCOUNT_FAILURES, MAX_FAILURES
from tests.conftest import ProjectKey

PASSWORD = "correct horse battery"


@pytest.fixture
def database_url(sqlite_or_postgresql_url: str) -> str:
    return sqlite_or_postgresql_url


@pytest.fixture
async def ann(database: Database, project: ProjectKey) -> None:
    """A staff login for ann@example.com."""
    async with database.session() as session:
        await create_staff(session, project.project_id, "ann@example.com", PASSWORD)
        await commit(session)


async def wrong_password(session: AsyncSession, address: str, now: datetime) -> SignIn:
    """Ann's sign-in with a wrong password from ``address`` at ``now``."""
    return await sign_in(session, "ann@example.com", "wrong password!", address, now)


async def test_a_staff_password_is_stored_as_an_argon2id_hash(
    database: Database, project: ProjectKey
) -> None:
    # When a staff account is created with an e-mail in mixed case
    async with database.session() as session:
        await create_staff(session, project.project_id, " Ann@Example.COM ", PASSWORD)
        await commit(session)

    # Then the e-mail is normalized and only an argon2id hash of the password is kept
    async with database.session() as session:
        account = await session.scalar(select(StaffAccount))
    assert account is not None and account.email == "ann@example.com"
    assert account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash


async def test_bad_input_duplicates_and_unknown_projects_are_refused(
    database: Database, project: ProjectKey
) -> None:
    async with database.session() as session:
        await create_staff(session, project.project_id, "ann@example.com", PASSWORD)
        # When the same e-mail, a bad e-mail, a short password or an unknown project is used
        # Then each is refused with its own error
        with pytest.raises(Conflict):
            await create_staff(session, project.project_id, "ANN@example.com", PASSWORD)
        with pytest.raises(ValidationFailed):
            await create_staff(session, project.project_id, "not-an-email", PASSWORD)
        with pytest.raises(ValidationFailed):
            await create_staff(session, project.project_id, "bob@example.com", "short")
        with pytest.raises(NotFound):
            await create_staff(session, "prj_missing", "bob@example.com", PASSWORD)


async def test_sign_in_checks_the_password(database: Database, project: ProjectKey) -> None:
    # Given a staff account
    async with database.session() as session:
        await create_staff(session, project.project_id, "ann@example.com", PASSWORD)
        # When it signs in with the right and a wrong password, and an unknown e-mail
        good = await sign_in(session, "ANN@example.com", PASSWORD, "10.0.0.1")
        bad = await sign_in(session, "ann@example.com", "wrong password!", "10.0.0.1")
        unknown = await sign_in(session, "zed@example.com", PASSWORD, "10.0.0.1")
    # Then only the right password gives the account
    assert good.account is not None and good.account.project_id == project.project_id
    assert good.account.last_login_at is not None
    assert (bad.account, bad.locked_until, unknown.account) == (None, None, None)


async def test_five_failures_lock_the_email_and_address_for_fifteen_minutes(
    database: Database, ann: None
) -> None:
    # Given a staff account and five wrong passwords from one address
    now = utcnow()
    async with database.session() as session:
        for _ in range(MAX_FAILURES):
            last = await wrong_password(session, "10.0.0.1", now)
        await commit(session)
    assert last.locked_until == now + LOCKOUT

    async with database.session() as session:
        # When the right password comes from that address during the lockout
        locked = await sign_in(session, "ann@example.com", PASSWORD, "10.0.0.1", now)
        # or from another address
        elsewhere = await sign_in(session, "ann@example.com", PASSWORD, "10.0.0.2", now)
        # or from that address after the lockout
        later = await sign_in(
            session, "ann@example.com", PASSWORD, "10.0.0.1", now + LOCKOUT + timedelta(seconds=1)
        )
    # Then it is refused only while locked, and only for that address
    assert (locked.account, locked.locked_until) == (None, now + LOCKOUT)
    assert elsewhere.account is not None
    assert later.account is not None


async def test_failures_outside_the_window_do_not_add_up(database: Database, ann: None) -> None:
    # Given four failures, then a fifth twenty minutes later
    now = utcnow()
    async with database.session() as session:
        for _ in range(MAX_FAILURES - 1):
            await wrong_password(session, "10.0.0.1", now)
        fifth = await wrong_password(session, "10.0.0.1", now + timedelta(minutes=20))
    # Then no lockout: the count restarted
    assert fifth.locked_until is None


async def test_failures_from_many_addresses_lock_the_email_everywhere(
    database: Database, project: ProjectKey, ann: None
) -> None:
    # Given two staff accounts, and wrong passwords for one of them, each from its own
    # address (so no address reaches its own limit)
    now = utcnow()
    verdicts = []
    async with database.session() as session:
        await create_staff(session, project.project_id, "bob@example.com", PASSWORD)
        for i in range(MAX_ACCOUNT_FAILURES):
            verdicts.append(await wrong_password(session, f"10.0.{i}.1", now))
        await commit(session)
    # Then the last failure locks the e-mail
    assert [v.locked_until for v in verdicts] == [None] * (MAX_ACCOUNT_FAILURES - 1) + [
        now + LOCKOUT
    ]

    async with database.session() as session:
        # When the right password comes from an address never seen, during the lockout
        locked = await sign_in(session, "ann@example.com", PASSWORD, "10.9.9.9", now)
        # or the other account signs in from one of the failing addresses
        other = await sign_in(session, "bob@example.com", PASSWORD, "10.0.0.1", now)
        # or a client claims the per e-mail row's address
        spoofed = await sign_in(session, "ann@example.com", PASSWORD, ANY_ADDRESS, now)
    # Then only the locked e-mail is refused, and from everywhere
    assert [verdict.locked_until for verdict in (locked, spoofed)] == [now + LOCKOUT] * 2
    assert other.account is not None and other.account.email == "bob@example.com"


async def test_concurrent_failures_are_each_counted_once(database: Database, ann: None) -> None:
    # Given an account; When four wrong passwords come at once, from four addresses
    now = utcnow()

    async def fail(address: str) -> None:
        async with database.session() as session:
            await wrong_password(session, address, now)
            await commit(session)

    await asyncio.gather(*(fail(f"10.0.0.{i}") for i in range(4)))

    # Then none collided with another, and the e-mail's count has all four
    async with database.session() as session:
        rows = await session.execute(select(LoginFailure.client_ip, LoginFailure.failures))
        counts = {client_ip: failures for client_ip, failures in rows}
    assert counts == {ANY_ADDRESS: 4, **{f"10.0.0.{i}": 1 for i in range(4)}}
