from datetime import datetime

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.config import Settings
from app.db.models import Endpoint
from app.delivery.ssrf import NetworkPolicy
from app.deps import CallerDep, DbSession, SecretBoxDep, SettingsDep
from app.endpoints import service
from app.endpoints.schemas import (
    DeliveryCounts,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    RotateIn,
    SecretOut,
    StatsOut,
)
from app.pagination import ListOut, PageRequest, list_out


def endpoint_out(endpoint: Endpoint) -> EndpointOut:
    return EndpointOut(
        id=endpoint.id,
        tenant_id=endpoint.tenant_id,
        url=endpoint.url,
        description=endpoint.description,
        event_types=endpoint.event_types,
        channels=endpoint.channels,
        rate_limit=endpoint.rate_limit,
        headers=endpoint.headers,
        metadata=endpoint.metadata_,
        paused=endpoint.paused,
        disabled=endpoint.disabled,
        disabled_reason=endpoint.disabled_reason,
        status=service.endpoint_status(endpoint),
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def network_policy(settings: Settings) -> NetworkPolicy:
    return NetworkPolicy(allowed=settings.allowed_private_networks)


class EndpointController(Controller):
    path = "/tenants/{tenant:str}/endpoints"
    tags = ["endpoints"]

    @post()
    async def create_endpoint(
        self,
        session: DbSession,
        caller: CallerDep,
        settings: SettingsDep,
        secret_box: SecretBoxDep,
        tenant: FromPath[str],
        data: JSONBody[EndpointIn],
    ) -> EndpointOut:
        endpoint = await service.create_endpoint(
            session, secret_box, network_policy(settings), caller.project_id, tenant, data
        )
        return endpoint_out(endpoint)

    @get()
    async def list_endpoints(
        self,
        session: DbSession,
        caller: CallerDep,
        tenant: FromPath[str],
        limit: FromQuery[int | None] = None,
        iterator: FromQuery[str | None] = None,
    ) -> ListOut[EndpointOut]:
        page = await service.list_endpoints(
            session, caller.project_id, tenant, PageRequest.parse(limit, iterator)
        )
        return list_out(page, endpoint_out)

    @get("/{endpoint:str}")
    async def get_endpoint(
        self, session: DbSession, caller: CallerDep, tenant: FromPath[str], endpoint: FromPath[str]
    ) -> EndpointOut:
        return endpoint_out(
            await service.get_endpoint(session, caller.project_id, tenant, endpoint)
        )

    @patch("/{endpoint:str}")
    async def update_endpoint(
        self,
        session: DbSession,
        caller: CallerDep,
        settings: SettingsDep,
        tenant: FromPath[str],
        endpoint: FromPath[str],
        data: JSONBody[EndpointPatch],
    ) -> EndpointOut:
        updated = await service.update_endpoint(
            session, settings, caller.project_id, tenant, endpoint, data
        )
        return endpoint_out(updated)

    @delete("/{endpoint:str}")
    async def delete_endpoint(
        self, session: DbSession, caller: CallerDep, tenant: FromPath[str], endpoint: FromPath[str]
    ) -> None:
        await service.delete_endpoint(session, caller.project_id, tenant, endpoint)

    @get("/{endpoint:str}/secret")
    async def get_secret(
        self,
        session: DbSession,
        caller: CallerDep,
        secret_box: SecretBoxDep,
        tenant: FromPath[str],
        endpoint: FromPath[str],
    ) -> SecretOut:
        current = await service.get_secret(session, secret_box, caller.project_id, tenant, endpoint)
        return SecretOut(key=current.key, public_key=current.public_key)

    @post("/{endpoint:str}/secret/rotate", status_code=204)
    async def rotate_secret(
        self,
        session: DbSession,
        caller: CallerDep,
        secret_box: SecretBoxDep,
        tenant: FromPath[str],
        endpoint: FromPath[str],
        data: JSONBody[RotateIn | None] = None,
    ) -> None:
        key = data.key if data is not None else None
        await service.rotate_secret(session, secret_box, caller.project_id, tenant, endpoint, key)

    @get("/{endpoint:str}/stats")
    async def get_stats(
        self,
        session: DbSession,
        caller: CallerDep,
        tenant: FromPath[str],
        endpoint: FromPath[str],
        since: FromQuery[datetime | None] = None,
    ) -> StatsOut:
        stats = await service.delivery_stats(session, caller.project_id, tenant, endpoint, since)
        return StatsOut(
            since=stats.since,
            counts=DeliveryCounts(
                **{state: stats.counts[state] for state in service.DELIVERY_STATES}
            ),
            success_rate=stats.success_rate,
        )
