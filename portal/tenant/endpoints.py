"""Portal pages for endpoints: list, create, show, edit, and the SSRF verdict as you type."""

from datetime import timedelta
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from app.attempts.service import list_endpoint_attempts
from app.config import Settings
from app.db.base import utcnow
from app.delivery.ssrf import UnsafeURL, check_endpoint_url
from app.deps import DbSession, SecretBoxDep, SettingsDep
from app.endpoints import service
from app.endpoints.controllers import network_policy
from app.errors import Conflict, Forbidden, ValidationFailed
from app.event_types.service import list_event_types
from app.pagination import PageRequest
from app.projects.service import get_project
from portal.tenant.chart import attempts_chart
from portal.tenant.endpoint_actions import head_context
from portal.tenant.forms import EndpointForm
from portal.tenant.layout import page_context
from portal.tenant.queries import attempts_by_hour
from portal.tenant.session import PortalDep, PortalSession
from portal.web import redirect, render

CHART_HOURS = 24
CATALOG_PAGE = PageRequest(limit=250)
RECENT_ATTEMPTS = PageRequest(limit=15)
LIMIT_NOTICE = (
    "You have reached the most endpoints your account allows. Delete an endpoint you no"
    " longer use to add this one, or ask your provider to raise the limit."
)


class EndpointPages(Controller):
    path = "/portal/endpoints"
    include_in_schema = False

    @get()
    async def list_endpoints(
        self, session: DbSession, settings: SettingsDep, portal: PortalDep
    ) -> Response[str]:
        page = await service.list_endpoints(
            session, portal.project_id, portal.tenant_id, PageRequest(limit=250)
        )
        # One statement for every endpoint's stats: the page's query count is fixed.
        stats = await service.endpoints_delivery_stats(
            session, [endpoint.id for endpoint in page.items], None
        )
        rows = [
            {
                "endpoint": endpoint,
                "status": service.endpoint_status(endpoint),
                "stats": stats[endpoint.id],
            }
            for endpoint in page.items
        ]
        context = await page_context(session, portal, "endpoints", rows=rows)
        return render(settings, "portal/endpoints.html", context)

    @get("/new")
    async def new_endpoint(
        self, session: DbSession, settings: SettingsDep, portal: PortalDep
    ) -> Response[str]:
        return await self._form_page(session, settings, portal, EndpointForm(), None)

    @post()
    async def create_endpoint(
        self,
        request: Request[Any, Any, Any],
        session: DbSession,
        settings: SettingsDep,
        secret_box: SecretBoxDep,
        portal: PortalDep,
    ) -> Response[Any]:
        form_data = await request.form()
        form = EndpointForm.parse(form_data, form_data.getall("event_types", []))
        data = form.to_create()
        notice = None
        if data is not None:
            try:
                endpoint = await service.create_endpoint(
                    session,
                    secret_box,
                    network_policy(settings),
                    portal.project_id,
                    portal.tenant_id,
                    data,
                )
            except ValidationFailed as exc:
                form.errors.update(exc.fields or {"url": exc.detail})
            except Conflict as exc:
                if exc.code != "endpoint_limit":
                    raise
                notice = LIMIT_NOTICE
            else:
                return redirect(settings, f"/portal/endpoints/{endpoint.id}?created=1", request)
        return await self._form_page(
            session, settings, portal, form, None, status_code=409 if notice else 422, notice=notice
        )

    @get("/url-check")
    async def check_url(
        self, settings: SettingsDep, portal: PortalDep, url: FromQuery[str] = ""
    ) -> Response[str]:
        """The SSRF guard's verdict on ``url``, as a fragment for the form."""
        verdict: dict[str, Any] = {"url": url, "ok": None, "reason": ""}
        if url.strip():
            try:
                await check_endpoint_url(url.strip(), network_policy(settings))
                verdict["ok"] = True
            except UnsafeURL as exc:
                verdict.update(ok=False, reason=exc.reason)
        return render(settings, "portal/_url_verdict.html", verdict)

    @get("/{endpoint:str}")
    async def show_endpoint(
        self,
        session: DbSession,
        settings: SettingsDep,
        portal: PortalDep,
        endpoint: FromPath[str],
        created: FromQuery[int] = 0,
    ) -> Response[str]:
        found = await service.get_endpoint(session, portal.project_id, portal.tenant_id, endpoint)
        stats = await service.delivery_stats(
            session, portal.project_id, portal.tenant_id, found.id, None
        )
        since = utcnow() - timedelta(hours=CHART_HOURS - 1)
        chart = attempts_chart(await attempts_by_hour(session, found.id, since, CHART_HOURS))
        attempts = await list_endpoint_attempts(
            session, portal.project_id, portal.tenant_id, found.id, None, RECENT_ATTEMPTS
        )
        catalog = await list_event_types(session, portal.project_id, CATALOG_PAGE)
        project = await get_project(session, portal.project_id)
        context = await page_context(
            session,
            portal,
            "endpoints",
            **head_context(found),
            stats=stats,
            chart=chart,
            attempts=attempts.items,
            catalog=catalog.items,
            overlap_s=project.secret_overlap_s,
            created=bool(created),
            default_since=(utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        )
        return render(settings, "portal/endpoint.html", context)

    @get("/{endpoint:str}/edit")
    async def edit_endpoint(
        self, session: DbSession, settings: SettingsDep, portal: PortalDep, endpoint: FromPath[str]
    ) -> Response[str]:
        if portal.read_only:
            # The form holds the URL and header values that a read-only session sees masked.
            raise Forbidden("a read-only portal session cannot edit endpoints", code="read_only")
        found = await service.get_endpoint(session, portal.project_id, portal.tenant_id, endpoint)
        return await self._form_page(session, settings, portal, EndpointForm.of(found), found.id)

    @post("/{endpoint:str}")
    async def update_endpoint(
        self,
        request: Request[Any, Any, Any],
        session: DbSession,
        settings: SettingsDep,
        portal: PortalDep,
        endpoint: FromPath[str],
    ) -> Response[Any]:
        found = await service.get_endpoint(session, portal.project_id, portal.tenant_id, endpoint)
        form_data = await request.form()
        form = EndpointForm.parse(form_data, form_data.getall("event_types", []))
        patch = form.to_patch()
        if patch is not None:
            try:
                await service.update_endpoint(
                    session,
                    settings,
                    portal.project_id,
                    portal.tenant_id,
                    found.id,
                    patch,
                )
            except ValidationFailed as exc:
                form.errors.update(exc.fields or {"url": exc.detail})
            else:
                return redirect(settings, f"/portal/endpoints/{found.id}", request)
        return await self._form_page(session, settings, portal, form, found.id, status_code=422)

    async def _form_page(
        self,
        session: AsyncSession,
        settings: Settings,
        portal: PortalSession,
        form: EndpointForm,
        endpoint_id: str | None,
        status_code: int = 200,
        notice: str | None = None,
    ) -> Response[str]:
        catalog = await list_event_types(session, portal.project_id, CATALOG_PAGE)
        context = await page_context(
            session,
            portal,
            "endpoints",
            form=form,
            endpoint_id=endpoint_id,
            catalog=catalog.items,
            notice=notice,
        )
        return render(settings, "portal/endpoint_form.html", context, status_code=status_code)
