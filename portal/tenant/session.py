"""The tenant portal's session: who is signed in, for which tenant, and what they may do.

``provide_portal`` is the portal router's dependency (``portal: PortalDep``). It reads
the signed session cookie (401 without a valid one, or when the tenant's portal access
was revoked since: its session version moved on), and for every state-changing
request checks the CSRF token (403 ``csrf_failed``) and refuses read-only sessions
(403 ``read_only``). Every portal handler scopes its queries with ``portal.project_id``
and ``portal.tenant_id``, so another tenant's objects are simply not found (404).
Signing out (``provide_leaving_portal``) checks CSRF but not read-only.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.errors import Forbidden, Unauthorized
from app.portal_access.service import check_portal_version, claimed_version
from app.portal_access.signer import require_secret_key
from portal.csrf import SAFE_METHODS, check_csrf, csrf_token
from portal.sessions import PORTAL_COOKIE, SessionCookies


@dataclass(frozen=True)
class PortalSession:
    session_id: str
    project_id: str
    tenant_id: str
    read_only: bool
    version: int
    expires_at: datetime
    csrf_token: str

    def claims(self) -> dict[str, Any]:
        return {
            "sid": self.session_id,
            "pid": self.project_id,
            "tid": self.tenant_id,
            "ro": self.read_only,
            "ver": self.version,
        }


def session_from_claims(settings: Settings, claims: dict[str, Any]) -> PortalSession:
    """The session a cookie's (verified) claims describe."""
    try:
        session_id, project_id, tenant_id = str(claims["sid"]), str(claims["pid"]), claims["tid"]
    except KeyError:
        raise Unauthorized("this portal session is not valid; open a new portal link") from None
    return PortalSession(
        session_id=session_id,
        project_id=project_id,
        tenant_id=str(tenant_id),
        read_only=bool(claims.get("ro")),
        version=claimed_version(claims),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        csrf_token=csrf_token(require_secret_key(settings), session_id),
    )


async def provide_portal(
    request: Request[Any, Any, Any], session: NamedDependency[AsyncSession]
) -> PortalSession:
    """The request's portal session; 401 without one, 403 for a bad CSRF token or a write
    from a read-only session.

    It reads the tenant's session version through ``session`` (and so is resolved after
    it: Litestar resolves independent dependencies concurrently, and a failure here must
    not interrupt the session's generator half-way, which then cannot be closed cleanly).
    """
    portal = await provide_leaving_portal(request, session)
    if request.method not in SAFE_METHODS and portal.read_only:
        raise Forbidden("this portal session is read-only", code="read_only")
    return portal


async def provide_leaving_portal(
    request: Request[Any, Any, Any], session: NamedDependency[AsyncSession]
) -> PortalSession:
    """``provide_portal`` without the read-only check, for signing out: leaving changes
    nothing, and a read-only session may leave too (401 without a session, 403 for a bad
    CSRF token)."""
    settings: Settings = request.app.state.settings
    claims = SessionCookies(settings, PORTAL_COOKIE).read(request)
    if claims is None:
        raise Unauthorized("your portal session has expired or is missing; open a new portal link")
    portal = session_from_claims(settings, claims)
    if not await check_portal_version(session, portal.project_id, portal.tenant_id, portal.version):
        raise Unauthorized("this portal session has been ended; open a new portal link")
    await check_csrf(request, portal.csrf_token)
    return portal


PortalDep = NamedDependency[SkipValidation[PortalSession]]
