from litestar import Controller, post
from litestar.params import FromPath, JSONBody

from app.deps import CallerDep, DbSession, SettingsDep
from app.portal_access import service
from app.portal_access.schemas import PortalAccessIn, PortalAccessOut


class PortalAccessController(Controller):
    path = "/tenants/{tenant:str}/portal-access"
    tags = ["portal"]

    @post(status_code=201)
    async def create_portal_access(
        self,
        session: DbSession,
        caller: CallerDep,
        settings: SettingsDep,
        tenant: FromPath[str],
        data: JSONBody[PortalAccessIn | None] = None,
    ) -> PortalAccessOut:
        """A single-use magic link to the tenant's portal (default 1 h, 60 s … 7 days)."""
        request = data or PortalAccessIn()
        link = await service.create_portal_access(
            session, settings, caller.project_id, tenant, request.expires_in, request.read_only
        )
        return PortalAccessOut(url=link.url, token=link.token, expires_at=link.expires_at)

    @post("/revoke", status_code=204)
    async def revoke_portal_access(
        self, session: DbSession, caller: CallerDep, tenant: FromPath[str]
    ) -> None:
        """End every open portal session of the tenant and refuse every link minted so far;
        links minted afterwards work as usual."""
        await service.revoke_portal_access(session, caller.project_id, tenant)
