"""Portal magic links: minted by the producer's API call, redeemed once by a browser.

A link's token is signed claims ``{jti, pid, tid, ro, ver, exp}`` (``Signer`` purpose
``portal-link/v1``); the database keeps one ``PortalToken`` row per ``jti`` so a token
works once: ``redeem_portal_token`` marks it used in one conditional UPDATE, so two
concurrent redemptions cannot both win. The session it starts ends when the link
expires (at most ``SESSION_LIFETIME`` after redemption).

``ver`` is the tenant's ``portal_session_version`` when the link was minted; the session
carries it on. ``revoke_portal_access`` raises the tenant's version, so every link and
session minted before is refused from then on (``check_portal_version``).
"""

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.base import utcnow
from app.db.models import PortalToken, Tenant
from app.errors import Unauthorized
from app.portal_access.signer import BadSignature, Expired, require_secret_key, signer_for
from app.tenants.service import get_tenant

LINK_PURPOSE = "portal-link/v1"
ACCESS_PATH = "/portal/access"
# How long a browser session lasts at most once a link is redeemed; never past the link's
# own expiry.
SESSION_LIFETIME = timedelta(hours=8)


@dataclass(frozen=True)
class PortalLink:
    url: str
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class Redeemed:
    """A redeemed link: the session it starts."""

    session_id: str
    project_id: str
    tenant_id: str
    read_only: bool
    version: int
    session_expires_at: datetime


async def create_portal_access(
    session: AsyncSession,
    settings: Settings,
    project_id: str,
    tenant_key: str,
    expires_in_s: int,
    read_only: bool,
) -> PortalLink:
    """A single-use link to the portal of the project's tenant ``tenant_key`` (404 else)."""
    signer = signer_for(require_secret_key(settings), LINK_PURPOSE)
    tenant = await get_tenant(session, project_id, tenant_key)
    expires_at = utcnow().replace(microsecond=0) + timedelta(seconds=expires_in_s)
    jti = secrets.token_urlsafe(24)
    session.add(
        PortalToken(
            jti=jti,
            project_id=project_id,
            tenant_id=tenant.id,
            read_only=read_only,
            expires_at=expires_at,
        )
    )
    await session.flush()
    claims = {
        "jti": jti,
        "pid": project_id,
        "tid": tenant.id,
        "ro": read_only,
        "ver": tenant.portal_session_version,
    }
    token = signer.sign(claims, expires_at)
    url = f"{settings.public_url}{ACCESS_PATH}?{urlencode({'token': token})}"
    return PortalLink(url=url, token=token, expires_at=expires_at)


async def redeem_portal_token(session: AsyncSession, settings: Settings, token: str) -> Redeemed:
    """Spend ``token``; ``Unauthorized`` when tampered, expired, unknown, already used or
    revoked. The session ends when the link expires, or ``SESSION_LIFETIME`` from now if
    that comes first."""
    signer = signer_for(require_secret_key(settings), LINK_PURPOSE)
    now = utcnow()
    try:
        claims = signer.unsign(token, now)
    except Expired:
        raise Unauthorized("this portal link has expired", code="link_expired") from None
    except BadSignature:
        raise Unauthorized("this portal link is not valid", code="link_invalid") from None
    jti = str(claims.get("jti", ""))
    spent = await session.execute(
        update(PortalToken)
        .where(
            PortalToken.jti == jti,
            PortalToken.used_at.is_(None),
            PortalToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(
            PortalToken.project_id,
            PortalToken.tenant_id,
            PortalToken.read_only,
            PortalToken.expires_at,
        )
    )
    row = spent.first()
    if row is None:
        raise Unauthorized("this portal link has already been used", code="link_used")
    version = claimed_version(claims)
    if not await check_portal_version(session, row.project_id, row.tenant_id, version):
        raise Unauthorized("this portal link has been revoked", code="link_revoked")
    return Redeemed(
        session_id=jti,
        project_id=row.project_id,
        tenant_id=row.tenant_id,
        read_only=row.read_only,
        version=version,
        session_expires_at=min(now + SESSION_LIFETIME, row.expires_at),
    )


def claimed_version(claims: Mapping[str, Any]) -> int:
    """The ``ver`` claim of a link or session; 0 for those minted before versions (or -1,
    never current, for a value that is not a whole number)."""
    version = claims.get("ver", 0)
    return version if isinstance(version, int) and not isinstance(version, bool) else -1


async def check_portal_version(
    session: AsyncSession, project_id: str, tenant_id: str, version: int
) -> bool:
    """Whether ``version`` is the tenant's current portal session version (False for a
    tenant that is gone)."""
    current = await session.scalar(
        select(Tenant.portal_session_version).where(
            Tenant.id == tenant_id, Tenant.project_id == project_id
        )
    )
    return current is not None and current == version


async def revoke_portal_access(session: AsyncSession, project_id: str, tenant_key: str) -> None:
    """End every portal session of the tenant and refuse every link minted so far (flush
    only); ``NotFound`` for another project's or an unknown tenant."""
    tenant = await get_tenant(session, project_id, tenant_key)
    await session.execute(
        update(Tenant)
        .where(Tenant.id == tenant.id)
        # Revoking portal access is not an edit of the tenant: updated_at stays.
        .values(
            portal_session_version=Tenant.portal_session_version + 1,
            updated_at=Tenant.updated_at,
        )
    )
