"""The event-type catalog page: descriptions, JSON Schemas, examples, and how to verify."""

from litestar import Controller, Response, get

from app.deps import DbSession, SettingsDep
from app.event_types.examples import example_payload
from app.event_types.service import list_event_types
from app.pagination import PageRequest
from portal.tenant.layout import page_context
from portal.tenant.session import PortalDep
from portal.web import pretty_json, render


class CatalogPages(Controller):
    path = "/portal/event-types"
    include_in_schema = False

    @get()
    async def catalog(
        self, session: DbSession, settings: SettingsDep, portal: PortalDep
    ) -> Response[str]:
        page = await list_event_types(session, portal.project_id, PageRequest(limit=250))
        entries = [
            {
                "event_type": event_type,
                "schema": pretty_json(event_type.schema) if event_type.schema else None,
                "example": (
                    pretty_json(example_payload(event_type.schema)) if event_type.schema else None
                ),
            }
            for event_type in sorted(page.items, key=lambda e: e.name)
        ]
        context = await page_context(session, portal, "catalog", entries=entries)
        return render(settings, "portal/event_types.html", context)
