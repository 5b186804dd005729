"""Bulk replay pages: a filter with a live count, then a job whose progress is polled."""

from datetime import timedelta
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models import Replay
from app.deps import DbSession, SettingsDep
from app.errors import ValidationFailed
from app.replays import service
from app.replays.matching import ReplayFilter, count_matching
from app.staff.service import get_staff
from portal.console import forms
from portal.console.audit import log_action
from portal.console.layout import page_context
from portal.console.session import ConsoleDep
from portal.web import redirect, render

RECENT = 10
OUTCOME_WATCH = timedelta(minutes=10)
ACTOR_FORMATS = {
    "api_key": "API key {}",
    "staff": "staff {}",
    "portal": "the portal of tenant {}",
    "cli": "herald replay, run by {}",
}


def read_request(values: Any, errors: dict[str, str]) -> service.ReplayRequest | None:
    """The replay the form asks for; None (with ``errors``) when a field is unusable."""
    since = forms.utc_time(values, "since", errors)
    until = forms.utc_time(values, "until", errors)
    statuses = tuple(s for s in ("failed", "exhausted") if values.get(f"status_{s}"))
    if since is None and "since" not in errors:
        errors["since"] = "choose where the window starts"
    if not statuses:
        errors["status"] = "choose failed, exhausted or both"
    if errors or since is None:
        return None
    return service.ReplayRequest(
        since=since,
        until=until,
        tenant=forms.text(values, "tenant", 200) or None,
        endpoint=forms.text(values, "endpoint", 40) or None,
        event_type=forms.text(values, "event_type", 200) or None,
        statuses=statuses,
    )


async def resolve(
    session: AsyncSession, project_id: str, values: Any
) -> tuple[ReplayFilter | None, dict[str, str]]:
    errors: dict[str, str] = {}
    request = read_request(values, errors)
    if request is None:
        return None, errors
    try:
        return await service.resolve_filter(session, project_id, request), errors
    except ValidationFailed as exc:
        return None, dict(exc.fields or {"since": exc.detail})


async def started_by(session: AsyncSession, replay: Replay) -> str | None:
    """Who started ``replay``, in words (a staff account by its e-mail and id); None for
    replays made before Herald recorded it."""
    kind, who = replay.actor_kind, replay.actor_id
    if kind is None:
        return None
    if kind == "staff" and who is not None:
        staff = await get_staff(session, who)
        who = f"{staff.email} ({who})" if staff is not None else who
    if who is None:
        return "herald replay" if kind == "cli" else kind
    return ACTOR_FORMATS.get(kind, kind + " {}").format(who)


def progress_context(replay: Replay, succeeded: int) -> dict[str, Any]:
    """The progress fragment's context. It polls while the replay runs, then a while
    longer (``OUTCOME_WATCH``) while re-queued deliveries are still being delivered."""
    finished = replay.status in service.FINISHED
    watching = (
        finished
        and succeeded < replay.requeued
        and replay.finished_at is not None
        and utcnow() - replay.finished_at < OUTCOME_WATCH
    )
    return {
        "replay": replay,
        "finished": finished,
        "polling": not finished or watching,
        "succeeded": succeeded,
    }


class ReplayPagesController(Controller):
    path = "/console/replays"
    include_in_schema = False

    @get("/")
    async def replays_page(
        self, session: DbSession, settings: SettingsDep, console: ConsoleDep
    ) -> Response[str]:
        recent = await service.list_replays(session, console.project_id, RECENT)
        since = forms.local_input(utcnow().replace(minute=0, second=0, microsecond=0))
        context = await page_context(session, console, "replays", recent=recent, since_value=since)
        return render(settings, "console/replays.html", context)

    @post("/preview")
    async def preview(
        self,
        request: Request[Any, Any, Any],
        session: DbSession,
        settings: SettingsDep,
        console: ConsoleDep,
    ) -> Response[str]:
        """The htmx fragment "N deliveries match" (or what is wrong with the filter)."""
        rules, errors = await resolve(session, console.project_id, await request.form())
        count = await count_matching(session, console.project_id, rules) if rules else None
        return render(
            settings, "console/_preview.html", {"count": count, "errors": errors, "oob": True}
        )

    @post("/")
    async def start(
        self,
        request: Request[Any, Any, Any],
        session: DbSession,
        settings: SettingsDep,
        console: ConsoleDep,
    ) -> Response[Any]:
        """Create the replay (its job leaves after commit) and go to its progress page."""
        rules, errors = await resolve(session, console.project_id, await request.form())
        if rules is None:
            fragment = render(settings, "console/_preview.html", {"count": None, "errors": errors})
            fragment.status_code = 422
            return fragment
        actor = service.Actor("staff", console.staff_id)
        replay = await service.create_replay(session, console.project_id, rules, actor)
        log_action(
            console.staff_id, "replay.start", replay=replay.id, tenant=replay.tenant_id,
            endpoint=replay.endpoint_id,
        )  # fmt: skip
        return redirect(settings, f"/console/replays/{replay.id}", request)

    @get("/{replay_id:str}")
    async def replay_page(
        self,
        session: DbSession,
        settings: SettingsDep,
        console: ConsoleDep,
        replay_id: FromPath[str],
    ) -> Response[str]:
        replay = await service.get_replay(session, console.project_id, replay_id)
        succeeded = await service.succeeded_since(session, replay)
        context = await page_context(
            session, console, "replays", started_by=await started_by(session, replay),
            **progress_context(replay, succeeded),
        )  # fmt: skip
        return render(settings, "console/replay.html", context)

    @get("/{replay_id:str}/progress")
    async def progress(
        self,
        session: DbSession,
        settings: SettingsDep,
        console: ConsoleDep,
        replay_id: FromPath[str],
    ) -> Response[str]:
        """The polled fragment: polls again until the replay is finished."""
        replay = await service.get_replay(session, console.project_id, replay_id)
        succeeded = await service.succeeded_since(session, replay)
        return render(settings, "console/_progress.html", progress_context(replay, succeeded))
