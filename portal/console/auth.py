"""Signing in to and out of the console."""

import math
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect

from app.config import Settings
from app.db.base import utcnow
from app.deps import DbSession, SettingsDep
from app.errors import Throttled
from app.staff.service import end_sessions, sign_in
from portal.console.audit import log_action
from portal.console.session import (
    ConsoleDep,
    anonymous_cookie,
    cookies,
    new_session_id,
    session_csrf,
    staff_cookie,
)
from portal.csrf import check_csrf
from portal.web import render, security_headers

HOME = "/console"


def login_page(
    settings: Settings, session_id: str, *, email: str = "", error: str = "", status_code: int = 200
) -> Response[str]:
    """The sign-in form under the anonymous session ``session_id`` (cookie re-issued)."""
    context = {
        "brand": None,
        "subtitle": "Support console",
        "home_url": "/console/login",
        "csrf_token": session_csrf(settings, session_id),
        "email": email,
        "error": error,
    }
    response = render(settings, "console/login.html", context, status_code=status_code)
    response.set_cookie(anonymous_cookie(settings, session_id))
    return response


class LoginController(Controller):
    path = "/console"
    include_in_schema = False

    @get("/login")
    async def login_form(
        self, request: Request[Any, Any, Any], settings: SettingsDep
    ) -> Response[str]:
        return login_page(settings, new_session_id())

    @post("/login")
    async def login(
        self, request: Request[Any, Any, Any], session: DbSession, settings: SettingsDep
    ) -> Response[Any]:
        """Check the form's CSRF token, then the password (throttled); 303 home on success.

        Failures are answered with the form (401, or 429 while locked or while too many
        passwords are being checked at once), not raised, so the request's transaction
        commits the failure that was counted.
        """
        claims = cookies(settings).read(request)
        if claims is None:
            return login_page(
                settings, new_session_id(), error="The form expired; please try again.",
                status_code=403,
            )  # fmt: skip
        await check_csrf(request, session_csrf(settings, str(claims["sid"])))
        form = await request.form()
        email, password = str(form.get("email", "")), str(form.get("password", ""))
        client_ip = request.client.host if request.client else "unknown"
        try:
            verdict = await sign_in(session, email, password, client_ip)
        except Throttled:
            error = "Too many sign-ins at once. Please try again in a moment."
            return login_page(settings, new_session_id(), email=email, error=error, status_code=429)
        if (account := verdict.account) is not None:
            cookie = staff_cookie(settings, account.id, account.project_id, account.session_version)
            log_action(account.id, "sign_in", project=account.project_id, ip=client_ip)
            return Redirect(
                HOME, status_code=303, cookies=[cookie], headers=security_headers(settings)
            )
        if verdict.locked_until is not None:
            minutes = math.ceil((verdict.locked_until - utcnow()).total_seconds() / 60)
            error = f"Too many failed sign-ins. Try again in {minutes} minutes."
            return login_page(settings, new_session_id(), email=email, error=error, status_code=429)
        error = "That e-mail and password do not match a console login."
        return login_page(settings, new_session_id(), email=email, error=error, status_code=401)

    @post("/logout")
    async def logout(self, console: ConsoleDep, settings: SettingsDep) -> Response[Any]:
        """End this browser's session (others of the same account stay signed in)."""
        log_action(console.staff_id, "sign_out")
        return signed_out(settings)

    @post("/logout-everywhere")
    async def logout_everywhere(
        self, session: DbSession, console: ConsoleDep, settings: SettingsDep
    ) -> Response[Any]:
        """End every session of this staff account, in every browser, this one included."""
        await end_sessions(session, console.staff_id)
        log_action(console.staff_id, "sign_out_everywhere")
        return signed_out(settings)


def signed_out(settings: Settings) -> Response[Any]:
    """To the sign-in form, without the session cookie."""
    return Redirect(
        "/console/login", status_code=303, cookies=[cookies(settings).clear()],
        headers=security_headers(settings),
    )  # fmt: skip
