"""Search across the project's tenants, and a message's detail."""

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.params import FromPath

from app.deps import DbSession, SettingsDep
from portal.console import forms
from portal.console.layout import page_context
from portal.console.queries import STATUSES, SearchFilter, message_detail, search
from portal.console.session import ConsoleDep
from portal.web import render


def read_filter(query: Any, errors: dict[str, str]) -> SearchFilter:
    return SearchFilter(
        message=forms.text(query, "message", 200),
        tenant=forms.text(query, "tenant", 200),
        endpoint_url=forms.text(query, "endpoint_url", 500),
        status=forms.text(query, "status", 16),
        since=forms.utc_time(query, "since", errors),
        until=forms.utc_time(query, "until", errors),
        before=forms.text(query, "before", 40),
    )


def _older_url(request: Request[Any, Any, Any], before: str | None) -> str | None:
    if before is None:
        return None
    query = {key: value for key, value in request.query_params.items() if key != "before"}
    return "/console?" + urlencode({**query, "before": before})


class SearchController(Controller):
    path = "/console"
    include_in_schema = False

    @get("/")
    async def search_page(
        self,
        request: Request[Any, Any, Any],
        session: DbSession,
        settings: SettingsDep,
        console: ConsoleDep,
    ) -> Response[str]:
        errors: dict[str, str] = {}
        rules = read_filter(request.query_params, errors)
        page = (
            None if rules.is_empty or errors else await search(session, console.project_id, rules)
        )
        context = await page_context(
            session,
            console,
            "search",
            rules=rules,
            errors=errors,
            page=page,
            statuses=STATUSES,
            since_value=forms.local_input(rules.since),
            until_value=forms.local_input(rules.until),
            older_url=_older_url(request, page.next_before) if page else None,
        )
        return render(settings, "console/search.html", context)

    @get("/messages/{message_id:str}")
    async def message_page(
        self,
        session: DbSession,
        settings: SettingsDep,
        console: ConsoleDep,
        message_id: FromPath[str],
    ) -> Response[str]:
        detail = await message_detail(session, console.project_id, message_id)
        context = await page_context(session, console, "search", detail=detail)
        return render(settings, "console/message.html", context)
