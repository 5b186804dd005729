"""Staff accounts and console sign-in.

Sign-in is throttled per (e-mail, client address): ``MAX_FAILURES`` failures within
``FAILURE_WINDOW`` lock that pair for ``LOCKOUT``; while locked, no password is even
checked. The counters live in the database so every API process shares them.
``sign_in`` never raises for a wrong password or a lockout: it returns the verdict, so
the caller's transaction commits the failure it recorded.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models import LoginFailure, Project, StaffAccount
from app.errors import Conflict, ValidationFailed, not_found
from app.ids import new_id
from app.staff.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
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
    """Check ``email``/``password`` from ``client_ip``, recording failures (flush only)."""
    now = now or utcnow()
    email = normalize_email(email)[:320]
    client_ip = client_ip[:64]
    failure = await session.get(LoginFailure, (email, client_ip))
    if failure is not None and failure.locked_until is not None and failure.locked_until > now:
        return SignIn(None, locked_until=failure.locked_until)
    account = await _matching_account(session, email, password)
    if account is not None:
        account.last_login_at = now
        await session.execute(
            delete(LoginFailure).where(
                LoginFailure.email == email, LoginFailure.client_ip == client_ip
            )
        )
        await session.flush()
        return SignIn(account)
    failure = await _record_failure(session, failure, email, client_ip, now)
    return SignIn(None, locked_until=failure.locked_until)


async def _matching_account(
    session: AsyncSession, email: str, password: str
) -> StaffAccount | None:
    # One e-mail may have a login in several projects: the first whose password matches.
    accounts = (
        await session.scalars(
            select(StaffAccount).where(StaffAccount.email == email).order_by(StaffAccount.id)
        )
    ).all()
    for account in accounts:
        if await verify_password(account.password_hash, password):
            return account
    if not accounts:
        await verify_password(None, password)
    return None


async def _record_failure(
    session: AsyncSession,
    failure: LoginFailure | None,
    email: str,
    client_ip: str,
    now: datetime,
) -> LoginFailure:
    if failure is None:
        failure = LoginFailure(email=email, client_ip=client_ip, failures=0, first_failed_at=now)
        session.add(failure)
    elif failure.first_failed_at < now - FAILURE_WINDOW or failure.locked_until is not None:
        failure.failures, failure.first_failed_at, failure.locked_until = 0, now, None
    failure.failures += 1
    if failure.failures >= MAX_FAILURES:
        failure.locked_until = now + LOCKOUT
    await session.flush()
    return failure


async def get_staff(session: AsyncSession, staff_id: str) -> StaffAccount | None:
    return await session.get(StaffAccount, staff_id)
