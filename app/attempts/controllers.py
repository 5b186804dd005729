from litestar import Controller, get
from litestar.params import FromPath, FromQuery

from app.attempts import service
from app.attempts.schemas import AttemptOut
from app.db.models import Attempt
from app.deps import CallerDep, DbSession
from app.pagination import ListOut, PageRequest, list_out


def attempt_out(attempt: Attempt) -> AttemptOut:
    return AttemptOut(
        id=attempt.id,
        message_id=attempt.message_id,
        endpoint_id=attempt.endpoint_id,
        delivery_id=attempt.delivery_id,
        status=attempt.status,
        response_status_code=attempt.response_status_code,
        response_body=attempt.response_body,
        duration_ms=attempt.duration_ms,
        error_kind=attempt.error_kind,
        error=attempt.error,
        trigger=attempt.trigger,
        created_at=attempt.created_at,
    )


class AttemptController(Controller):
    path = "/tenants/{tenant:str}"
    tags = ["attempts"]

    @get("/messages/{message:str}/attempts")
    async def list_message_attempts(
        self,
        session: DbSession,
        caller: CallerDep,
        tenant: FromPath[str],
        message: FromPath[str],
        limit: FromQuery[int | None] = None,
        iterator: FromQuery[str | None] = None,
    ) -> ListOut[AttemptOut]:
        page = await service.list_message_attempts(
            session, caller.project_id, tenant, message, PageRequest.parse(limit, iterator)
        )
        return list_out(page, attempt_out)

    @get("/endpoints/{endpoint:str}/attempts")
    async def list_endpoint_attempts(
        self,
        session: DbSession,
        caller: CallerDep,
        tenant: FromPath[str],
        endpoint: FromPath[str],
        status: FromQuery[service.AttemptStatus | None] = None,
        limit: FromQuery[int | None] = None,
        iterator: FromQuery[str | None] = None,
    ) -> ListOut[AttemptOut]:
        page = await service.list_endpoint_attempts(
            session, caller.project_id, tenant, endpoint, status, PageRequest.parse(limit, iterator)
        )
        return list_out(page, attempt_out)
