"""What every console page shares: the producer's branding, navigation, the staff."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.projects.service import get_project
from portal.console.session import ConsoleSession
from portal.tenant.layout import brand_of

NAV = (("search", "Search", "/console"), ("replays", "Bulk replay", "/console/replays"))


async def page_context(
    session: AsyncSession, console: ConsoleSession, active: str, **extra: Any
) -> dict[str, Any]:
    """The base layout's context for a console page, plus ``extra``."""
    project = await get_project(session, console.project_id)
    return {
        "brand": brand_of(project),
        "subtitle": "Support console",
        "home_url": "/console",
        "nav": [
            {"label": label, "href": href, "active": key == active} for key, label, href in NAV
        ],
        "csrf_token": console.csrf_token,
        "who": console.email,
        "logout_url": "/console/logout",
        "logout_everywhere_url": "/console/logout-everywhere",
        **extra,
    }
