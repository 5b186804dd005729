"""Portal actions on one endpoint, each answering with the fragment it changed (htmx).

Pause, resume, enable, delete; reveal and rotate the signing secret; send a test event;
recover failed deliveries since a time, and follow the recovery's progress.
"""

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.models import Endpoint, Replay
from app.deps import DbSession, SecretBoxDep, SettingsDep
from app.endpoints import service
from app.endpoints.schemas import EndpointPatch
from app.errors import Forbidden, ValidationFailed, not_found
from app.messages.test_event import send_test_event
from app.projects.service import get_project
from app.replays import service as replays
from portal.tenant.layout import page_context
from portal.tenant.messages import deliveries_context
from portal.tenant.session import PortalDep, PortalSession
from portal.web import redirect, render


class EndpointActions(Controller):
    path = "/portal/endpoints/{endpoint:str}"
    include_in_schema = False

    @post("/pause")
    async def pause(
        self, session: DbSession, settings: SettingsDep, portal: PortalDep, endpoint: FromPath[str]
    ) -> Response[str]:
        return await self._set_state(
            session, settings, portal, endpoint, EndpointPatch(paused=True)
        )

    @post("/resume")
    async def resume(
        self, session: DbSession, settings: SettingsDep, portal: PortalDep, endpoint: FromPath[str]
    ) -> Response[str]:
        return await self._set_state(
            session, settings, portal, endpoint, EndpointPatch(paused=False)
        )

    @post("/enable")
    async def enable(
        self, session: DbSession, settings: SettingsDep, portal: PortalDep, endpoint: FromPath[str]
    ) -> Response[str]:
        """Enable again, unless the producer disabled it (403 ``disabled_by_producer``)."""
        await service.set_disabled_by_tenant(
            session, settings, portal.project_id, portal.tenant_id, endpoint, False
        )
        return await _head(session, settings, portal, endpoint)

    @post("/disable")
    async def disable(
        self, session: DbSession, settings: SettingsDep, portal: PortalDep, endpoint: FromPath[str]
    ) -> Response[str]:
        await service.set_disabled_by_tenant(
            session, settings, portal.project_id, portal.tenant_id, endpoint, True
        )
        return await _head(session, settings, portal, endpoint)

    @delete(status_code=200)
    async def delete_endpoint(
        self,
        request: Request[Any, Any, Any],
        session: DbSession,
        settings: SettingsDep,
        portal: PortalDep,
        endpoint: FromPath[str],
    ) -> Response[Any]:
        await service.delete_endpoint(session, portal.project_id, portal.tenant_id, endpoint)
        return redirect(settings, "/portal/endpoints?deleted=1", request)

    @get("/secret")
    async def reveal_secret(
        self,
        session: DbSession,
        settings: SettingsDep,
        secret_box: SecretBoxDep,
        portal: PortalDep,
        endpoint: FromPath[str],
    ) -> Response[str]:
        if portal.read_only:
            # A read-only link may be handed around more widely than an editing one.
            raise Forbidden(
                "a read-only portal session cannot reveal signing secrets", code="read_only"
            )
        current = await service.get_secret(
            session, secret_box, portal.project_id, portal.tenant_id, endpoint
        )
        context = {"endpoint_id": endpoint, "key": current.key, "public_key": current.public_key}
        return render(settings, "portal/_secret.html", context | _csrf(portal))

    @get("/secret/hidden")
    async def hide_secret(
        self, settings: SettingsDep, portal: PortalDep, endpoint: FromPath[str]
    ) -> Response[str]:
        context = {"endpoint_id": endpoint, "key": None, "public_key": None}
        return render(settings, "portal/_secret.html", context | _csrf(portal))

    @post("/secret/rotate")
    async def rotate_secret(
        self,
        session: DbSession,
        settings: SettingsDep,
        secret_box: SecretBoxDep,
        portal: PortalDep,
        endpoint: FromPath[str],
    ) -> Response[str]:
        await service.rotate_secret(
            session, secret_box, portal.project_id, portal.tenant_id, endpoint, None
        )
        current = await service.get_secret(
            session, secret_box, portal.project_id, portal.tenant_id, endpoint
        )
        project = await get_project(session, portal.project_id)
        context = {
            "endpoint_id": endpoint,
            "key": current.key,
            "public_key": current.public_key,
            "rotated": True,
            "overlap_s": project.secret_overlap_s,
        }
        return render(settings, "portal/_secret.html", context | _csrf(portal))

    @post("/test")
    async def send_test(
        self,
        request: Request[Any, Any, Any],
        session: DbSession,
        settings: SettingsDep,
        portal: PortalDep,
        endpoint: FromPath[str],
    ) -> Response[str]:
        form = await request.form()
        event_type = str(form.get("event_type") or "") or None
        message = await send_test_event(
            session, settings, portal.project_id, portal.tenant_id, endpoint, event_type
        )
        context = await deliveries_context(session, portal, message.id)
        return render(settings, "portal/_deliveries.html", context | {"compact": True})

    @post("/recover")
    async def recover(
        self,
        request: Request[Any, Any, Any],
        session: DbSession,
        settings: SettingsDep,
        portal: PortalDep,
        endpoint: FromPath[str],
    ) -> Response[str]:
        form = await request.form()
        since = _parse_local_time(str(form.get("since") or ""), "since")
        actor = replays.Actor("portal", portal.tenant_id)
        replay = await replays.recover_endpoint(
            session, portal.project_id, portal.tenant_id, endpoint, actor, since
        )
        return render(settings, "portal/_recovery.html", _recovery_context(replay))

    async def _set_state(
        self,
        session: AsyncSession,
        settings: Settings,
        portal: PortalSession,
        endpoint_id: str,
        patch: EndpointPatch,
    ) -> Response[str]:
        await service.update_endpoint(
            session,
            settings,
            portal.project_id,
            portal.tenant_id,
            endpoint_id,
            patch,
        )
        return await _head(session, settings, portal, endpoint_id)


class RecoveryProgress(Controller):
    path = "/portal/recoveries"
    include_in_schema = False

    @get("/{replay:str}")
    async def progress(
        self, session: DbSession, settings: SettingsDep, portal: PortalDep, replay: FromPath[str]
    ) -> Response[str]:
        found = await replays.get_replay(session, portal.project_id, replay)
        if found.tenant_id != portal.tenant_id:
            raise not_found("replay", replay)
        context = _recovery_context(found)
        context["succeeded"] = await replays.succeeded_since(session, found)
        return render(settings, "portal/_recovery.html", context)


def _recovery_context(replay: Replay) -> dict[str, Any]:
    return {
        "replay": replay,
        "finished": replay.status in ("completed", "failed"),
        "succeeded": None,
    }


async def _head(
    session: AsyncSession, settings: Settings, portal: PortalSession, endpoint_id: str
) -> Response[str]:
    """The endpoint's head (state and actions), the fragment every state change swaps."""
    found = await service.get_endpoint(session, portal.project_id, portal.tenant_id, endpoint_id)
    context = await page_context(session, portal, "endpoints", **head_context(found))
    return render(settings, "portal/_endpoint_head.html", context)


def head_context(endpoint: Endpoint) -> dict[str, Any]:
    """What ``portal/_endpoint_head.html`` needs besides the page's context."""
    return {
        "endpoint": endpoint,
        "status": service.endpoint_status(endpoint),
        "may_enable": service.tenant_may_enable(endpoint),
    }


def _csrf(portal: PortalSession) -> dict[str, Any]:
    return {"csrf_token": portal.csrf_token, "read_only": portal.read_only}


def _parse_local_time(text: str, field: str) -> datetime:
    """A ``datetime-local`` input (taken as UTC, as the form says) → aware datetime."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.field(field, "choose a date and time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
