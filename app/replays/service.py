"""Creating and reading replays.

``create_replay`` validates the filter, freezes its window (``until`` defaults to now),
counts what matches and, unless the caller drives the batches itself (the CLI), queues
the ``replay.run`` job after commit. The batches are in ``app.replays.batches``.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models import Attempt, Delivery, Endpoint, Replay
from app.db.session import enqueue_after_commit
from app.endpoints.service import get_endpoint
from app.errors import NotFound, ValidationFailed, not_found
from app.ids import new_id
from app.outbox import Job
from app.replays.matching import ReplayFilter, count_matching, in_scope
from app.tenants.service import get_tenant

REPLAY_ACTOR = "replay.run"
FINISHED = frozenset({"completed", "failed"})


@dataclass(frozen=True)
class Actor:
    """Who starts a replay: ``kind`` is ``api_key``, ``staff``, ``portal`` or ``cli``, and
    ``id`` the key id, the staff id, the tenant id, or the shell user (None if unknown)."""

    kind: str
    id: str | None


@dataclass(frozen=True)
class ReplayRequest:
    """A replay as asked for: tenant by id or uid, endpoint by id, open-ended ``until``."""

    since: datetime
    until: datetime | None = None
    tenant: str | None = None
    endpoint: str | None = None
    event_type: str | None = None
    statuses: tuple[str, ...] = ("failed", "exhausted")


async def resolve_filter(
    session: AsyncSession, project_id: str, request: ReplayRequest, now: datetime | None = None
) -> ReplayFilter:
    """Validate ``request`` against the project; raise ``ValidationFailed`` (422).

    An unknown tenant or endpoint (or another project's) is a 422 naming the field:
    the body refers to it, the URL does not.
    """
    until = request.until or now or utcnow()
    if request.since >= until:
        raise ValidationFailed.field("until", "must be later than since")
    tenant_id = await _tenant_id(session, project_id, request.tenant)
    endpoint_id = await _endpoint_id(session, project_id, tenant_id, request.endpoint)
    return ReplayFilter(
        since=request.since,
        until=until,
        statuses=tuple(sorted(set(request.statuses))),
        tenant_id=tenant_id,
        endpoint_id=endpoint_id,
        event_type=request.event_type,
    )


async def _tenant_id(session: AsyncSession, project_id: str, key: str | None) -> str | None:
    if key is None:
        return None
    try:
        return (await get_tenant(session, project_id, key)).id
    except NotFound:
        raise ValidationFailed.field("tenant", f"no tenant {key!r} in this project") from None


async def _endpoint_id(
    session: AsyncSession, project_id: str, tenant_id: str | None, endpoint_id: str | None
) -> str | None:
    if endpoint_id is None:
        return None
    stmt = select(Endpoint.tenant_id).where(
        Endpoint.id == endpoint_id, Endpoint.project_id == project_id
    )
    owner = await session.scalar(stmt)
    if owner is None or (tenant_id is not None and owner != tenant_id):
        where = "of this tenant" if tenant_id else "in this project"
        raise ValidationFailed.field("endpoint", f"no endpoint {endpoint_id!r} {where}")
    return endpoint_id


async def create_replay(
    session: AsyncSession,
    project_id: str,
    rules: ReplayFilter,
    actor: Actor,
    *,
    enqueue: bool = True,
) -> Replay:
    """Store a queued replay of ``rules`` by ``actor`` with its ``total``; queue its job
    after commit.

    With ``enqueue=False`` the caller runs the batches itself (``run_replay``); the
    scheduler still resumes the replay if that caller dies (``resume_stalled``).
    """
    now = utcnow()
    replay = Replay(
        id=new_id("rpl"),
        project_id=project_id,
        tenant_id=rules.tenant_id,
        endpoint_id=rules.endpoint_id,
        event_type=rules.event_type,
        statuses=list(rules.statuses),
        since=rules.since,
        until=rules.until,
        status="queued",
        total=await count_matching(session, project_id, rules),
        done=0,
        requeued=0,
        skipped=0,
        created_at=now,
        progressed_at=now,
        actor_kind=actor.kind,
        actor_id=actor.id,
    )
    session.add(replay)
    await session.flush()
    if enqueue:
        enqueue_after_commit(session, replay_job(replay.id))
    return replay


def replay_job(replay_id: str) -> Job:
    return Job(REPLAY_ACTOR, (replay_id,))


async def recover_endpoint(
    session: AsyncSession,
    project_id: str,
    tenant_key: str,
    endpoint_id: str,
    actor: Actor,
    since: datetime,
    until: datetime | None = None,
) -> Replay:
    """Replay the endpoint's failed and exhausted deliveries of [since, until).

    ``NotFound`` (404) when the tenant or endpoint is not the project's: here they are
    in the URL. A paused or disabled endpoint is not resumed: its deliveries are made
    due and go out when it is back.
    """
    endpoint = await get_endpoint(session, project_id, tenant_key, endpoint_id)
    request = ReplayRequest(
        since=since, until=until, tenant=endpoint.tenant_id, endpoint=endpoint.id
    )
    rules = await resolve_filter(session, project_id, request)
    return await create_replay(session, project_id, rules, actor)


async def get_replay(session: AsyncSession, project_id: str, replay_id: str) -> Replay:
    """The project's replay ``replay_id``; ``NotFound`` (also for another project's)."""
    replay = await session.scalar(
        select(Replay).where(Replay.id == replay_id, Replay.project_id == project_id)
    )
    if replay is None:
        raise not_found("replay", replay_id)
    return replay


async def list_replays(session: AsyncSession, project_id: str, limit: int) -> Sequence[Replay]:
    """The project's ``limit`` most recent replays, newest first."""
    stmt = (
        select(Replay)
        .where(Replay.project_id == project_id)
        .order_by(Replay.id.desc())
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


async def succeeded_since(session: AsyncSession, replay: Replay) -> int:
    """Deliveries in the replay's scope that a replay attempt has delivered since it began.

    Counted from the attempts (trigger ``replay``, made after the replay was created),
    so two overlapping replays of the same scope report the same successes.
    """
    delivered = (
        select(Attempt.delivery_id)
        .where(
            Attempt.project_id == replay.project_id,
            Attempt.trigger == "replay",
            Attempt.status == "succeeded",
            Attempt.created_at >= replay.created_at,
        )
        .distinct()
    )
    scope = in_scope(replay.project_id, ReplayFilter.of(replay)).where(Delivery.id.in_(delivered))
    subquery = scope.with_only_columns(Delivery.id).subquery()
    return int(await session.scalar(select(func.count()).select_from(subquery)) or 0)


def percent(replay: Replay) -> int:
    """Progress in whole percent; 100 once finished (``done`` may differ from ``total``
    when deliveries changed state between creation and their batch)."""
    if replay.status in FINISHED:
        return 100
    if replay.total <= 0:
        return 0
    return min(99, replay.done * 100 // replay.total)
