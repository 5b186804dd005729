"""Staff accounts: argon2id hashes, sign-in, and the per (e-mail, address) lockout."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db.base import utcnow
from app.db.models import StaffAccount
from app.db.session import Database, commit
from app.errors import Conflict, NotFound, ValidationFailed
from app.staff.service import LOCKOUT, MAX_FAILURES, create_staff, sign_in
from tests.conftest import ProjectKey

PASSWORD = "correct horse battery"


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
    database: Database, project: ProjectKey
) -> None:
    # Given a staff account and five wrong passwords from one address
    now = utcnow()
    async with database.session() as session:
        await create_staff(session, project.project_id, "ann@example.com", PASSWORD)
        for _ in range(MAX_FAILURES):
            last = await sign_in(session, "ann@example.com", "wrong password!", "10.0.0.1", now)
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


async def test_failures_outside_the_window_do_not_add_up(
    database: Database, project: ProjectKey
) -> None:
    # Given four failures, then a fifth twenty minutes later
    now = utcnow()
    async with database.session() as session:
        await create_staff(session, project.project_id, "ann@example.com", PASSWORD)
        for _ in range(MAX_FAILURES - 1):
            await sign_in(session, "ann@example.com", "wrong password!", "10.0.0.1", now)
        fifth = await sign_in(
            session, "ann@example.com", "wrong password!", "10.0.0.1", now + timedelta(minutes=20)
        )
    # Then no lockout: the count restarted
    assert fifth.locked_until is None
