"""The event-type catalog of a project: names, descriptions, optional JSON Schemas."""

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models import EventType
from app.errors import Conflict, not_found
from app.event_types.schemas import EventTypeIn, EventTypePatch
from app.event_types.validation import check_schema
from app.ids import new_id
from app.pagination import Page, PageRequest, paginate


async def get_event_type(session: AsyncSession, project_id: str, name: str) -> EventType:
    """The project's event type called ``name`` (archived or not); ``NotFound`` otherwise."""
    event_type = await session.scalar(
        select(EventType).where(EventType.project_id == project_id, EventType.name == name)
    )
    if event_type is None:
        raise not_found("event type", name)
    return event_type


async def list_event_types(
    session: AsyncSession, project_id: str, page: PageRequest, *, include_archived: bool = False
) -> Page[EventType]:
    stmt = select(EventType).where(EventType.project_id == project_id)
    if not include_archived:
        stmt = stmt.where(EventType.archived_at.is_(None))
    return await paginate(session, stmt, EventType.id, page)


async def create_event_type(session: AsyncSession, project_id: str, data: EventTypeIn) -> EventType:
    """A new event type; ``ValidationFailed`` for a bad schema, ``Conflict`` for a taken name."""
    if data.schema is not None:
        check_schema(data.schema)
    event_type = EventType(
        id=new_id("evt"),
        project_id=project_id,
        name=data.name,
        description=data.description,
        schema=data.schema,
    )
    session.add(event_type)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(
            f"an event type named {data.name!r} already exists", code="name_taken"
        ) from None
    return event_type


async def update_event_type(
    session: AsyncSession, project_id: str, name: str, patch: EventTypePatch
) -> EventType:
    """Change the description or schema, or (un)archive with ``archived``."""
    event_type = await get_event_type(session, project_id, name)
    if patch.description is not msgspec.UNSET:
        event_type.description = patch.description
    if patch.schema is not msgspec.UNSET:
        if patch.schema is not None:
            check_schema(patch.schema)
        event_type.schema = patch.schema
    if patch.archived is not msgspec.UNSET and patch.archived != (
        event_type.archived_at is not None
    ):
        event_type.archived_at = utcnow() if patch.archived else None
    event_type.updated_at = utcnow()
    await session.flush()
    return event_type


async def archive_event_type(session: AsyncSession, project_id: str, name: str) -> None:
    """Hide the event type from the catalog; it can be unarchived with a PATCH."""
    event_type = await get_event_type(session, project_id, name)
    if event_type.archived_at is None:
        event_type.archived_at = utcnow()
        await session.flush()
