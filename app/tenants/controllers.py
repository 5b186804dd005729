from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.db.models import Tenant
from app.deps import CallerDep, DbSession
from app.pagination import ListOut, PageRequest, list_out
from app.tenants import service
from app.tenants.schemas import TenantIn, TenantOut, TenantPatch


def tenant_out(tenant: Tenant) -> TenantOut:
    return TenantOut(
        id=tenant.id,
        uid=tenant.uid,
        name=tenant.name,
        metadata=tenant.metadata_,
        created_at=tenant.created_at,
        updated_at=tenant.updated_at,
    )


class TenantController(Controller):
    path = "/tenants"
    tags = ["tenants"]

    @post()
    async def create_tenant(
        self, session: DbSession, caller: CallerDep, data: JSONBody[TenantIn]
    ) -> TenantOut:
        return tenant_out(await service.create_tenant(session, caller.project_id, data))

    @get()
    async def list_tenants(
        self,
        session: DbSession,
        caller: CallerDep,
        limit: FromQuery[int | None] = None,
        iterator: FromQuery[str | None] = None,
    ) -> ListOut[TenantOut]:
        page = await service.list_tenants(
            session, caller.project_id, PageRequest.parse(limit, iterator)
        )
        return list_out(page, tenant_out)

    @get("/{tenant:str}")
    async def get_tenant(
        self, session: DbSession, caller: CallerDep, tenant: FromPath[str]
    ) -> TenantOut:
        return tenant_out(await service.get_tenant(session, caller.project_id, tenant))

    @patch("/{tenant:str}")
    async def update_tenant(
        self,
        session: DbSession,
        caller: CallerDep,
        tenant: FromPath[str],
        data: JSONBody[TenantPatch],
    ) -> TenantOut:
        return tenant_out(await service.update_tenant(session, caller.project_id, tenant, data))

    @delete("/{tenant:str}")
    async def delete_tenant(
        self, session: DbSession, caller: CallerDep, tenant: FromPath[str]
    ) -> None:
        await service.delete_tenant(session, caller.project_id, tenant)
