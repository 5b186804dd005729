"""``/replays`` and an endpoint's ``/recover``: thin wrappers over ``app.replays.service``."""

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from app.auth import Caller
from app.db.models import Replay
from app.deps import CallerDep, DbSession
from app.replays import service
from app.replays.schemas import RecoverIn, ReplayActor, ReplayIn, ReplayOut


def replay_out(replay: Replay, succeeded: int | None = None) -> ReplayOut:
    return ReplayOut(
        id=replay.id,
        status=replay.status,
        total=replay.total,
        done=replay.done,
        requeued=replay.requeued,
        skipped=replay.skipped,
        percent=service.percent(replay),
        tenant_id=replay.tenant_id,
        endpoint_id=replay.endpoint_id,
        event_type=replay.event_type,
        statuses=list(replay.statuses),
        since=replay.since,
        until=replay.until,
        created_at=replay.created_at,
        finished_at=replay.finished_at,
        error=replay.error,
        actor=ReplayActor(replay.actor_kind, replay.actor_id) if replay.actor_kind else None,
        succeeded=succeeded,
    )


def key_actor(caller: Caller) -> service.Actor:
    return service.Actor("api_key", caller.key_id or None)


class ReplayController(Controller):
    path = "/replays"
    tags = ["replays"]

    @post(status_code=202)
    async def create_replay(
        self, session: DbSession, caller: CallerDep, data: JSONBody[ReplayIn]
    ) -> ReplayOut:
        """Queue a bulk replay of the matching deliveries; the reply names the key that
        started it (``actor``)."""
        request = service.ReplayRequest(
            since=data.since,
            until=data.until,
            tenant=data.tenant,
            endpoint=data.endpoint,
            event_type=data.event_type,
            statuses=tuple(data.status),
        )
        rules = await service.resolve_filter(session, caller.project_id, request)
        replay = await service.create_replay(session, caller.project_id, rules, key_actor(caller))
        return replay_out(replay)

    @get("/{replay_id:str}")
    async def get_replay(
        self, session: DbSession, caller: CallerDep, replay_id: FromPath[str]
    ) -> ReplayOut:
        replay = await service.get_replay(session, caller.project_id, replay_id)
        return replay_out(replay, await service.succeeded_since(session, replay))


class RecoverController(Controller):
    path = "/tenants/{tenant:str}/endpoints/{endpoint:str}/recover"
    tags = ["endpoints"]

    @post(status_code=202)
    async def recover_endpoint(
        self,
        session: DbSession,
        caller: CallerDep,
        tenant: FromPath[str],
        endpoint: FromPath[str],
        data: JSONBody[RecoverIn],
    ) -> ReplayOut:
        """Queue a replay of the endpoint's failed and exhausted deliveries in the window."""
        replay = await service.recover_endpoint(
            session, caller.project_id, tenant, endpoint, key_actor(caller), data.since, data.until
        )
        return replay_out(replay)
