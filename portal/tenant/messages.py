"""Portal pages for the message log: filters and cursor paging, one message with its
deliveries and attempts (live while anything is pending), and Retry per delivery."""

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from app.attempts.service import list_message_attempts
from app.db.models import Attempt
from app.deps import DbSession, SettingsDep
from app.errors import ValidationFailed
from app.event_types.service import list_event_types
from app.messages import service
from app.pagination import PageRequest
from portal.tenant.layout import page_context
from portal.tenant.queries import LogFilter, delivery_states, message_log, tenant_endpoints
from portal.tenant.session import PortalDep, PortalSession
from portal.web import pretty_json, render

LOG_PAGE_SIZE = 25
DELIVERY_STATES = ("pending", "succeeded", "failed", "exhausted")
ALL_ATTEMPTS = PageRequest(limit=250)


async def deliveries_context(
    session: AsyncSession, portal: PortalSession, message_id: str
) -> dict[str, Any]:
    """The message's deliveries, each with its endpoint and attempts (newest first)."""
    message = await service.get_message(session, portal.project_id, portal.tenant_id, message_id)
    deliveries = await service.list_deliveries(
        session, portal.project_id, portal.tenant_id, message.id
    )
    attempts = await list_message_attempts(
        session, portal.project_id, portal.tenant_id, message.id, ALL_ATTEMPTS
    )
    by_delivery: dict[str, list[Attempt]] = defaultdict(list)
    for attempt in attempts.items:
        by_delivery[attempt.delivery_id].append(attempt)
    endpoints = await tenant_endpoints(session, portal, [d.endpoint_id for d in deliveries])
    return {
        "message": message,
        "rows": [
            {
                "delivery": delivery,
                "endpoint": endpoints.get(delivery.endpoint_id),
                "attempts": by_delivery[delivery.id],
            }
            for delivery in deliveries
        ],
        "live": any(d.status == "pending" or d.next_attempt_at is not None for d in deliveries),
        "csrf_token": portal.csrf_token,
        "read_only": portal.read_only,
        "compact": False,
    }


class MessagePages(Controller):
    path = "/portal/messages"
    include_in_schema = False

    @get()
    async def message_log(
        self,
        session: DbSession,
        settings: SettingsDep,
        portal: PortalDep,
        event_type: FromQuery[str] = "",
        status: FromQuery[str] = "",
        since: FromQuery[str] = "",
        until: FromQuery[str] = "",
        iterator: FromQuery[str] = "",
    ) -> Response[str]:
        filters = LogFilter(
            event_type=event_type or None,
            status=status if status in DELIVERY_STATES else None,
            since=_parse_time(since, "since"),
            until=_parse_time(until, "until"),
        )
        page = await message_log(
            session, portal, filters, PageRequest(limit=LOG_PAGE_SIZE, iterator=iterator or None)
        )
        states = await delivery_states(session, portal, [m.id for m in page.items])
        catalog = await list_event_types(session, portal.project_id, PageRequest(limit=250))
        query = {"event_type": event_type, "status": status, "since": since, "until": until}
        context = await page_context(
            session,
            portal,
            "messages",
            page=page,
            states=states,
            catalog=catalog.items,
            query=query,
            statuses=DELIVERY_STATES,
            next_query={k: v for k, v in query.items() if v} | {"iterator": page.iterator or ""},
        )
        return render(settings, "portal/messages.html", context)

    @get("/{message:str}")
    async def show_message(
        self, session: DbSession, settings: SettingsDep, portal: PortalDep, message: FromPath[str]
    ) -> Response[str]:
        deliveries = await deliveries_context(session, portal, message)
        context = await page_context(
            session,
            portal,
            "messages",
            payload=pretty_json(deliveries["message"].payload),
            **deliveries,
        )
        return render(settings, "portal/message.html", context)

    @get("/{message:str}/deliveries")
    async def deliveries(
        self,
        session: DbSession,
        settings: SettingsDep,
        portal: PortalDep,
        message: FromPath[str],
        compact: FromQuery[int] = 0,
    ) -> Response[str]:
        context = await deliveries_context(session, portal, message)
        return render(settings, "portal/_deliveries.html", context | {"compact": bool(compact)})

    @post("/{message:str}/endpoints/{endpoint:str}/retry")
    async def retry(
        self,
        session: DbSession,
        settings: SettingsDep,
        portal: PortalDep,
        message: FromPath[str],
        endpoint: FromPath[str],
    ) -> Response[str]:
        await service.resend(
            session, settings, portal.project_id, portal.tenant_id, message, endpoint
        )
        context = await deliveries_context(session, portal, message)
        return render(settings, "portal/_deliveries.html", context)


def _parse_time(text: str, field: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.field(field, "use a date and time like 2026-01-31T09:00") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
