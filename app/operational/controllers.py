from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.deps import CallerDep, DbSession, SecretBoxDep, SettingsDep
from app.endpoints import secrets
from app.endpoints import service as endpoints
from app.endpoints.controllers import endpoint_out, network_policy
from app.endpoints.schemas import EndpointIn, EndpointOut, EndpointPatch, RotateIn, SecretOut
from app.operational import service
from app.pagination import ListOut, PageRequest, list_out


class OperationalEndpointController(Controller):
    """Endpoints of the producer itself, receiving ``endpoint.disabled``, ``endpoint.enabled``,
    ``message.attempt.failing`` and ``message.attempt.exhausted``, signed like any webhook."""

    path = "/operational-endpoints"
    tags = ["operational endpoints"]

    @post()
    async def create_operational_endpoint(
        self,
        session: DbSession,
        caller: CallerDep,
        settings: SettingsDep,
        secret_box: SecretBoxDep,
        data: JSONBody[EndpointIn],
    ) -> EndpointOut:
        endpoint = await service.create(
            session, secret_box, network_policy(settings), caller.project_id, data
        )
        return endpoint_out(endpoint)

    @get()
    async def list_operational_endpoints(
        self,
        session: DbSession,
        caller: CallerDep,
        limit: FromQuery[int | None] = None,
        iterator: FromQuery[str | None] = None,
    ) -> ListOut[EndpointOut]:
        page = await service.list_all(
            session, caller.project_id, PageRequest.parse(limit, iterator)
        )
        return list_out(page, endpoint_out)

    @get("/{endpoint:str}")
    async def get_operational_endpoint(
        self, session: DbSession, caller: CallerDep, endpoint: FromPath[str]
    ) -> EndpointOut:
        return endpoint_out(await service.get(session, caller.project_id, endpoint))

    @patch("/{endpoint:str}")
    async def update_operational_endpoint(
        self,
        session: DbSession,
        caller: CallerDep,
        settings: SettingsDep,
        endpoint: FromPath[str],
        data: JSONBody[EndpointPatch],
    ) -> EndpointOut:
        found = await service.get(session, caller.project_id, endpoint)
        return endpoint_out(await endpoints.apply_patch(session, settings, found, data))

    @delete("/{endpoint:str}")
    async def delete_operational_endpoint(
        self, session: DbSession, caller: CallerDep, endpoint: FromPath[str]
    ) -> None:
        await endpoints.remove_endpoint(
            session, await service.get(session, caller.project_id, endpoint)
        )

    @get("/{endpoint:str}/secret")
    async def get_operational_endpoint_secret(
        self,
        session: DbSession,
        caller: CallerDep,
        secret_box: SecretBoxDep,
        endpoint: FromPath[str],
    ) -> SecretOut:
        found = await service.get(session, caller.project_id, endpoint)
        current = await secrets.get_current_key(session, secret_box, found.id)
        return SecretOut(key=current.key, public_key=current.public_key)

    @post("/{endpoint:str}/secret/rotate", status_code=204)
    async def rotate_operational_endpoint_secret(
        self,
        session: DbSession,
        caller: CallerDep,
        secret_box: SecretBoxDep,
        endpoint: FromPath[str],
        data: JSONBody[RotateIn | None] = None,
    ) -> None:
        found = await service.get(session, caller.project_id, endpoint)
        key = data.key if data is not None else None
        await endpoints.rotate_endpoint_secret(session, secret_box, found, key)
