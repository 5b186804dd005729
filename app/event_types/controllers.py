from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.db.models import EventType
from app.deps import CallerDep, DbSession
from app.event_types import service
from app.event_types.schemas import EventTypeIn, EventTypeOut, EventTypePatch
from app.pagination import ListOut, PageRequest, list_out


def event_type_out(event_type: EventType) -> EventTypeOut:
    return EventTypeOut(
        id=event_type.id,
        name=event_type.name,
        description=event_type.description,
        schema=event_type.schema,
        archived=event_type.archived_at is not None,
        created_at=event_type.created_at,
        updated_at=event_type.updated_at,
    )


class EventTypeController(Controller):
    path = "/event-types"
    tags = ["event types"]

    @post()
    async def create_event_type(
        self, session: DbSession, caller: CallerDep, data: JSONBody[EventTypeIn]
    ) -> EventTypeOut:
        return event_type_out(await service.create_event_type(session, caller.project_id, data))

    @get()
    async def list_event_types(
        self,
        session: DbSession,
        caller: CallerDep,
        limit: FromQuery[int | None] = None,
        iterator: FromQuery[str | None] = None,
        include_archived: FromQuery[bool] = False,
    ) -> ListOut[EventTypeOut]:
        page = await service.list_event_types(
            session,
            caller.project_id,
            PageRequest.parse(limit, iterator),
            include_archived=include_archived,
        )
        return list_out(page, event_type_out)

    @get("/{event_type:str}")
    async def get_event_type(
        self, session: DbSession, caller: CallerDep, event_type: FromPath[str]
    ) -> EventTypeOut:
        return event_type_out(await service.get_event_type(session, caller.project_id, event_type))

    @patch("/{event_type:str}")
    async def update_event_type(
        self,
        session: DbSession,
        caller: CallerDep,
        event_type: FromPath[str],
        data: JSONBody[EventTypePatch],
    ) -> EventTypeOut:
        updated = await service.update_event_type(session, caller.project_id, event_type, data)
        return event_type_out(updated)

    @delete("/{event_type:str}")
    async def archive_event_type(
        self, session: DbSession, caller: CallerDep, event_type: FromPath[str]
    ) -> None:
        await service.archive_event_type(session, caller.project_id, event_type)
