"""Staff accounts and console sign-in.

Sign-in is throttled per (e-mail, client address) and per e-mail (``app.staff.throttle``);
while either is locked, no password is even checked. ``sign_in`` never raises for a
wrong password or a lockout: it returns the verdict, so the caller's transaction commits
the failure it recorded.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models import Project, StaffAccount
from app.db.session import commit
from app.errors import Conflict, ValidationFailed, not_found
from app.ids import new_id
from app.staff.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from app.staff.throttle import address_key, forget_failures, locked_until, record_failure

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def create_staff(
    session: AsyncSession, project_id: str, email: str, password: str
) -> StaffAccount:
    """A new staff login for the project; 422 for a bad e-mail or short password,
    404 for an unknown project, 409 when the e-mail already has a login there."""
    email = normalize_email(email)
    if not _EMAIL.match(email) or len(email) > 320:
        raise ValidationFailed.field("email", "is not an e-mail address")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed.field(
            "password", f"must be at least {MIN_PASSWORD_LENGTH} characters"
        )
    if await session.get(Project, project_id) is None:
        raise not_found("project", project_id)
    account = StaffAccount(
        id=new_id("stf"),
        project_id=project_id,
        email=email,
        password_hash=await hash_password(password),
    )
    try:
        # Added inside the savepoint: begin_nested() flushes what is already pending.
        async with session.begin_nested():
            session.add(account)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"{email} already has a console login for this project") from None
    return account


@dataclass(frozen=True)
class SignIn:
    """The verdict of a sign-in: the account, or why not (``locked_until`` when locked)."""

    account: StaffAccount | None
    locked_until: datetime | None = None


async def sign_in(
    session: AsyncSession, email: str, password: str, client_ip: str, now: datetime | None = None
) -> SignIn:
    """Check ``email``/``password`` from ``client_ip``, recording failures (flush only).
    ``Throttled`` when too many passwords are being checked at once (nothing recorded).

    It commits the session's transaction before checking the password (its reads only,
    when called before anything else is written, as the sign-in request does).
    """
    now = now or utcnow()
    email = normalize_email(email)[:320]
    client_ip = address_key(client_ip)
    lock_ends = await locked_until(session, email, client_ip, now)
    if lock_ends is not None:
        return SignIn(None, locked_until=lock_ends)
    accounts = await _accounts_of(session, email)
    # Nothing is written yet: end the read transaction, so that no connection (and on
    # SQLite no write lock) is held while the password waits for its turn to be checked.
    await commit(session)
    account = await _first_matching(accounts, password)
    if account is not None:
        account.last_login_at = now
        await forget_failures(session, email, client_ip)
        await session.flush()
        return SignIn(account)
    return SignIn(None, locked_until=await record_failure(session, email, client_ip, now))


async def _accounts_of(session: AsyncSession, email: str) -> Sequence[StaffAccount]:
    # One e-mail may have a login in several projects.
    statement = select(StaffAccount).where(StaffAccount.email == email).order_by(StaffAccount.id)
    return (await session.scalars(statement)).all()


async def _first_matching(accounts: Sequence[StaffAccount], password: str) -> StaffAccount | None:
    for account in accounts:
        if await verify_password(account.password_hash, password):
            return account
    if not accounts:
        await verify_password(None, password)
    return None


async def get_staff(session: AsyncSession, staff_id: str) -> StaffAccount | None:
    return await session.get(StaffAccount, staff_id)


async def end_sessions(session: AsyncSession, staff_id: str) -> None:
    """Raise the account's session version, ending every console session issued before
    (flush only)."""
    await session.execute(
        update(StaffAccount)
        .where(StaffAccount.id == staff_id)
        .values(session_version=StaffAccount.session_version + 1)
    )
