"""Entering and leaving the portal: the magic link and sign-out."""

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import FromQuery
from litestar.response import Redirect

from app.deps import DbSession, SettingsDep
from app.errors import Unauthorized
from app.portal_access.service import redeem_portal_token
from portal.sessions import PORTAL_COOKIE, SessionCookies
from portal.tenant.session import PortalDep, provide_leaving_portal
from portal.web import render, security_headers

HOME = "/portal/endpoints"


class AccessController(Controller):
    path = "/portal"
    include_in_schema = False

    @get("/access")
    async def redeem(
        self, session: DbSession, settings: SettingsDep, token: FromQuery[str | None] = None
    ) -> Response[Any]:
        """Spend the link's token, start the session, and leave the token's URL behind."""
        if not token:
            raise Unauthorized("this portal link is incomplete", code="link_invalid")
        redeemed = await redeem_portal_token(session, settings, token)
        claims = {
            "sid": redeemed.session_id,
            "pid": redeemed.project_id,
            "tid": redeemed.tenant_id,
            "ro": redeemed.read_only,
            "ver": redeemed.version,
        }
        cookie = SessionCookies(settings, PORTAL_COOKIE).issue(claims, redeemed.session_expires_at)
        # 303 to a clean URL: the token leaves the address bar and the history entry.
        return Redirect(HOME, status_code=303, cookies=[cookie], headers=security_headers(settings))

    @get("/")
    async def home(self, portal: PortalDep) -> Redirect:
        return Redirect(HOME, status_code=303)

    @post("/logout", status_code=303, dependencies={"portal": Provide(provide_leaving_portal)})
    async def logout(
        self, request: Request[Any, Any, Any], portal: PortalDep, settings: SettingsDep
    ) -> Response[Any]:
        """Clear the session cookie, read-only sessions' included."""
        cookie = SessionCookies(settings, PORTAL_COOKIE).clear()
        return Redirect("/portal/signed-out", status_code=303, cookies=[cookie])

    @get("/signed-out")
    async def signed_out(self, settings: SettingsDep) -> Response[str]:
        context = {
            "title": "Signed out",
            "detail": "You have left the webhook portal. Open it again from your application.",
            "status": 200,
            "brand": None,
            "nav": [],
        }
        return render(settings, "signed_out.html", context)
