"""Operational webhooks: events about the webhooks themselves, sent to the producer.

Each project has one hidden tenant whose endpoints are its operational endpoints; an
operational event is an ordinary message to that tenant, so it is stored, signed, retried
and logged like any other. Events about the operational tenant's own deliveries are not
raised (no feedback loop).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.models import Endpoint, Tenant
from app.ids import new_id

if TYPE_CHECKING:
    from app.delivery.claim import Claimed

OPERATIONAL_UID = "$operational"  # outside the uid pattern: no API caller can name it
EVENT_TYPES = (
    "endpoint.disabled",
    "endpoint.enabled",
    "message.attempt.failing",
    "message.attempt.exhausted",
)


@dataclass(frozen=True)
class OperationalEvent:
    project_id: str
    event_type: str
    data: Mapping[str, object]
    about_operational: bool = False  # raised by an operational delivery: not announced


def attempt_event(
    event_type: str, item: "Claimed", attempt: Mapping[str, object]
) -> OperationalEvent:
    """``message.attempt.failing`` / ``.exhausted`` for ``item``'s latest attempt."""
    return OperationalEvent(
        project_id=item.project.id,
        event_type=event_type,
        data={
            "tenant_id": item.tenant.id,
            "tenant_uid": item.tenant.uid,
            "endpoint_id": item.endpoint.id,
            "message_id": item.message.id,
            "event_id": item.message.event_id,
            "event_type": item.message.event_type,
            "last_attempt": {
                "id": attempt["id"],
                "created_at": attempt["created_at"],
                "response_status_code": attempt["response_status_code"],
                "error_kind": attempt["error_kind"],
            },
        },
        about_operational=item.tenant.is_operational,
    )


def endpoint_event(
    event_type: str, tenant: Tenant, endpoint: Endpoint, reason: str | None = None
) -> OperationalEvent:
    """``endpoint.disabled`` / ``endpoint.enabled`` for ``endpoint``."""
    data: dict[str, object] = {
        "tenant_id": tenant.id,
        "tenant_uid": tenant.uid,
        "endpoint_id": endpoint.id,
        "url": endpoint.url,
    }
    if reason is not None:
        data["reason"] = reason
    return OperationalEvent(
        tenant.project_id, event_type, data, about_operational=tenant.is_operational
    )


async def announce(
    session: AsyncSession, settings: Settings, events: Sequence[OperationalEvent]
) -> None:
    """Publish each event to its project's operational endpoints (after the caller commits)."""
    from app.messages.service import Draft, store  # messages → delivery → here

    drafts = []
    tenants: dict[str, Tenant | None] = {}  # one lookup per project, however many events
    for event in events:
        if event.about_operational:
            continue
        if event.project_id not in tenants:
            tenants[event.project_id] = await operational_tenant(session, event.project_id)
        tenant = tenants[event.project_id]
        if tenant is None:
            continue
        body = {
            "type": event.event_type,
            "timestamp": datetime.now(UTC),
            "data": event.data,
        }
        drafts.append(Draft(tenant, event.event_type, msgspec.json.encode(body)))
    await store(session, settings, drafts)


async def operational_tenant(
    session: AsyncSession, project_id: str, *, create: bool = False
) -> Tenant | None:
    """The project's hidden operational tenant; created (race-safely) when ``create``."""
    stmt = select(Tenant).where(Tenant.project_id == project_id, Tenant.uid == OPERATIONAL_UID)
    tenant = await session.scalar(stmt)
    if tenant is not None or not create:
        return tenant
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(
        insert(Tenant.metadata.tables["tenants"])
        .values(
            id=new_id("tnt"),
            project_id=project_id,
            uid=OPERATIONAL_UID,
            name="Operational webhooks",
            metadata={},
            is_operational=True,
            created_at=datetime.now(UTC),
            updated_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing()
    )
    return await session.scalar(stmt)
