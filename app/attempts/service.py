"""Reading the attempt log, by message or by endpoint."""

from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Attempt, Endpoint
from app.errors import not_found
from app.messages.service import get_message
from app.pagination import Page, PageRequest, paginate
from app.tenants.service import get_tenant

AttemptStatus = Literal["succeeded", "failed"]


async def list_message_attempts(
    session: AsyncSession, project_id: str, tenant_key: str, message_id: str, page: PageRequest
) -> Page[Attempt]:
    message = await get_message(session, project_id, tenant_key, message_id)
    stmt = select(Attempt).where(Attempt.message_id == message.id)
    return await paginate(session, stmt, Attempt.id, page)


async def list_endpoint_attempts(
    session: AsyncSession,
    project_id: str,
    tenant_key: str,
    endpoint_id: str,
    status: AttemptStatus | None,
    page: PageRequest,
) -> Page[Attempt]:
    tenant = await get_tenant(session, project_id, tenant_key)
    endpoint = await session.get(Endpoint, endpoint_id)
    if endpoint is None or endpoint.tenant_id != tenant.id:
        raise not_found("endpoint", endpoint_id)
    stmt = select(Attempt).where(Attempt.endpoint_id == endpoint.id)
    if status is not None:
        stmt = stmt.where(Attempt.status == status)
    return await paginate(session, stmt, Attempt.id, page)
