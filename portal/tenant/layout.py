"""What every portal page shares: branding, navigation, the signed-in tenant."""

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Project
from app.projects.service import get_project
from app.tenants.service import get_tenant
from portal.tenant.session import PortalSession

NAV = (
    ("endpoints", "Endpoints", "/portal/endpoints"),
    ("messages", "Message log", "/portal/messages"),
    ("catalog", "Event catalog", "/portal/event-types"),
)
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_HTTP_URL = re.compile(r"^https?://[^\s\"'<>]+$")


@dataclass(frozen=True)
class Brand:
    name: str
    logo_url: str | None
    accent: str | None


def brand_of(project: Project) -> Brand:
    """The producer's branding, each value re-checked (it lands in CSS and URLs)."""
    branding = project.branding or {}
    accent, logo = str(branding.get("accent_color") or ""), str(branding.get("logo_url") or "")
    return Brand(
        name=str(branding.get("name") or project.name),
        logo_url=logo if _HTTP_URL.match(logo) else None,
        accent=accent if _HEX_COLOUR.match(accent) else None,
    )


async def page_context(
    session: AsyncSession, portal: PortalSession, active: str, **extra: Any
) -> dict[str, Any]:
    """The base layout's context for a portal page, plus ``extra``."""
    project = await get_project(session, portal.project_id)
    tenant = await get_tenant(session, portal.project_id, portal.tenant_id)
    return {
        "brand": brand_of(project),
        "subtitle": "Webhooks",
        "home_url": "/portal/endpoints",
        "nav": [
            {"label": label, "href": href, "active": key == active} for key, label, href in NAV
        ],
        "csrf_token": portal.csrf_token,
        "who": tenant.name,
        "badge": "Read-only" if portal.read_only else None,
        "logout_url": "/portal/logout",
        "read_only": portal.read_only,
        "tenant": tenant,
        "project": project,
        **extra,
    }
