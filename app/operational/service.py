"""The project's operational endpoints: the endpoints of its hidden operational tenant."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Endpoint
from app.delivery.ssrf import NetworkPolicy
from app.endpoints import service as endpoints
from app.endpoints.schemas import EndpointIn
from app.errors import ValidationFailed, not_found
from app.operational.events import EVENT_TYPES, operational_tenant
from app.pagination import Page, PageRequest
from app.secretbox import SecretBox


async def create(
    session: AsyncSession, box: SecretBox, policy: NetworkPolicy, project_id: str, data: EndpointIn
) -> Endpoint:
    """A new operational endpoint; ``event_types`` may only name operational events."""
    unknown = set(data.event_types or ()) - set(EVENT_TYPES)
    if unknown:
        raise ValidationFailed.field(
            "event_types", f"not operational events: {', '.join(sorted(unknown))}"
        )
    tenant = await operational_tenant(session, project_id, create=True)
    assert tenant is not None
    return await endpoints.add_endpoint(session, box, policy, tenant, data)


async def list_all(session: AsyncSession, project_id: str, page: PageRequest) -> Page[Endpoint]:
    tenant = await operational_tenant(session, project_id)
    if tenant is None:
        return Page(items=[], iterator=None, done=True)
    return await endpoints.list_tenant_endpoints(session, tenant, page)


async def get(session: AsyncSession, project_id: str, endpoint_id: str) -> Endpoint:
    """The operational endpoint ``endpoint_id`` of the project; ``NotFound`` otherwise."""
    tenant = await operational_tenant(session, project_id)
    if tenant is None:
        raise not_found("operational endpoint", endpoint_id)
    return await endpoints.endpoint_of(session, tenant, endpoint_id)
