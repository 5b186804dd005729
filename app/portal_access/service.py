"""Portal magic links: minted by the producer's API call, redeemed once by a browser.

A link's token is signed claims ``{jti, pid, tid, ro, exp}`` (``Signer`` purpose
``portal-link/v1``); the database keeps one ``PortalToken`` row per ``jti`` so a token
works once: ``redeem_portal_token`` marks it used in one conditional UPDATE, so two
concurrent redemptions cannot both win.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.base import utcnow
from app.db.models import PortalToken
from app.errors import Unauthorized
from app.portal_access.signer import BadSignature, Expired, require_secret_key, signer_for
from app.tenants.service import get_tenant

LINK_PURPOSE = "portal-link/v1"
ACCESS_PATH = "/portal/access"
# How long a browser session lasts once a link is redeemed (the link itself is short).
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
    claims = {"jti": jti, "pid": project_id, "tid": tenant.id, "ro": read_only}
    token = signer.sign(claims, expires_at)
    url = f"{settings.public_url}{ACCESS_PATH}?{urlencode({'token': token})}"
    return PortalLink(url=url, token=token, expires_at=expires_at)


async def redeem_portal_token(session: AsyncSession, settings: Settings, token: str) -> Redeemed:
    """Spend ``token``; ``Unauthorized`` when tampered, expired, unknown or already used."""
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
        .returning(PortalToken.project_id, PortalToken.tenant_id, PortalToken.read_only)
    )
    row = spent.first()
    if row is None:
        raise Unauthorized("this portal link has already been used", code="link_used")
    return Redeemed(
        session_id=jti,
        project_id=row.project_id,
        tenant_id=row.tenant_id,
        read_only=row.read_only,
        session_expires_at=now + SESSION_LIFETIME,
    )
