"""The console's session cookie: anonymous (the login form's CSRF) or a signed-in staff.

One signed cookie, ``herald_console`` on ``/console``. Opening the login page issues an
anonymous session (a random id, one hour) whose CSRF token the form carries; signing in
replaces it with a staff session under a *new* id (no fixation) that expires after
``SESSION_LIFETIME``. A staff session carries the account's ``session_version``:
"sign out everywhere" raises it, which ends every session issued before. ``provide_console``
is the dependency of every signed-in page: it re-reads the staff account (a deleted
account, or an older session version, is signed out at once) and checks CSRF on every
state-changing request.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.base import utcnow
from app.errors import Unauthorized
from app.portal_access.signer import require_secret_key
from app.staff.service import get_staff
from portal.csrf import SAFE_METHODS, check_csrf, csrf_token
from portal.sessions import CookieSpec, SessionCookies

CONSOLE_COOKIE = CookieSpec(name="herald_console", path="/console", purpose="console-session/v1")
SESSION_LIFETIME = timedelta(hours=12)
LOGIN_FORM_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class ConsoleSession:
    session_id: str
    staff_id: str
    project_id: str
    email: str
    csrf_token: str


def cookies(settings: Settings) -> SessionCookies:
    return SessionCookies(settings, CONSOLE_COOKIE)


def new_session_id() -> str:
    return secrets.token_urlsafe(18)


def anonymous_cookie(settings: Settings, session_id: str) -> Cookie:
    return cookies(settings).issue({"sid": session_id}, utcnow() + LOGIN_FORM_LIFETIME)


def staff_cookie(settings: Settings, staff_id: str, project_id: str, version: int) -> Cookie:
    claims = {"sid": new_session_id(), "stf": staff_id, "pid": project_id, "ver": version}
    return cookies(settings).issue(claims, utcnow() + SESSION_LIFETIME)


def session_csrf(settings: Settings, session_id: str) -> str:
    return csrf_token(require_secret_key(settings), session_id)


async def provide_console(
    request: Request[Any, Any, Any], session: NamedDependency[AsyncSession]
) -> ConsoleSession:
    """The signed-in staff of this request; ``Unauthorized`` (→ the login page) otherwise."""
    settings: Settings = request.app.state.settings
    claims = cookies(settings).read(request) or {}
    staff = await get_staff(session, str(claims["stf"])) if claims.get("stf") else None
    current = staff is not None and staff.session_version == claims.get("ver", 0)
    if staff is None or staff.project_id != claims.get("pid") or not current:
        raise Unauthorized("please sign in", code="console_signed_out")
    console = ConsoleSession(
        session_id=str(claims["sid"]),
        staff_id=staff.id,
        project_id=staff.project_id,
        email=staff.email,
        csrf_token=session_csrf(settings, str(claims["sid"])),
    )
    if request.method not in SAFE_METHODS:
        await check_csrf(request, console.csrf_token)
    return console


ConsoleDep = NamedDependency[SkipValidation[ConsoleSession]]
