"""Tenants: the producer's customers, each addressed by id or by its own ``uid``.

A key shaped like a tenant id (``tnt_`` and 26 characters, ``app.ids.has_prefix``) is an
id and nothing else: such uids are refused, so an id never names another tenant by its uid
(a portal session holding a deleted tenant's id, say). Any other key is a uid.
"""

from collections.abc import Collection

import msgspec
from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.lists import PerDialect
from app.db.models import Endpoint, Tenant
from app.errors import Conflict, ValidationFailed, not_found
from app.ids import has_prefix, new_id
from app.pagination import Page, PageRequest, paginate
from app.tenants.schemas import TenantIn, TenantPatch


def _visible(project_id: str | BindParameter[str]) -> Select[Tenant]:
    return select(Tenant).where(Tenant.project_id == project_id, Tenant.is_operational.is_(False))


# Publishing's hot path: built once (``app.db.lists``), whatever the number of keys.
_WITH_ENDPOINTS = PerDialect(
    lambda member: (
        _visible(bindparam("b_project"))
        .add_columns(Endpoint)
        .outerjoin(Endpoint, Endpoint.tenant_id == Tenant.id)
        .where(or_(member(Tenant.id, "b_keys"), member(Tenant.uid, "b_keys")))
    )
)


def is_tenant_id(key: str) -> bool:
    """True when ``key`` is shaped like a tenant id, so names a tenant by id only."""
    return has_prefix(key, "tnt")


def _named_by(key: str) -> ColumnElement[bool]:
    return Tenant.id == key if is_tenant_id(key) else Tenant.uid == key


async def get_tenant(session: AsyncSession, project_id: str, key: str) -> Tenant:
    """The project's tenant whose id (a key shaped like one) or uid (any other key) is
    ``key``; ``NotFound`` otherwise."""
    tenant = await session.scalar(_visible(project_id).where(_named_by(key)))
    if tenant is None:
        raise not_found("tenant", key)
    return tenant


async def find_tenants_with_endpoints(
    session: AsyncSession, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], tuple[Tenant, list[Endpoint]]]:
    """The tenants of ``(project id, id or uid)`` keys with their endpoints: one query per
    project (publishing's hot path). A key is read as ``get_tenant`` reads it."""
    keys_by_project: dict[str, set[str]] = {}
    for project_id, key in keys:
        keys_by_project.setdefault(project_id, set()).add(key)
    found: dict[tuple[str, str], tuple[Tenant, list[Endpoint]]] = {}
    for project_id, project_keys in keys_by_project.items():
        rows = await session.execute(
            _WITH_ENDPOINTS.on(session), {"b_project": project_id, "b_keys": list(project_keys)}
        )
        endpoints: dict[str, list[Endpoint]] = {}
        for tenant, endpoint in rows:
            tenant_endpoints = endpoints.setdefault(tenant.id, [])
            if endpoint is not None:
                tenant_endpoints.append(endpoint)
            if tenant.uid in project_keys and not is_tenant_id(tenant.uid):
                found.setdefault((project_id, tenant.uid), (tenant, tenant_endpoints))
            if tenant.id in project_keys:
                found[(project_id, tenant.id)] = (tenant, tenant_endpoints)
    return found


async def list_tenants(session: AsyncSession, project_id: str, page: PageRequest) -> Page[Tenant]:
    return await paginate(session, _visible(project_id), Tenant.id, page)


async def create_tenant(session: AsyncSession, project_id: str, data: TenantIn) -> Tenant:
    """A new tenant, its uid defaulting to its id; 422 for a uid shaped like a tenant id,
    409 ``uid_taken`` for one already in use."""
    if data.uid is not None:
        _check_uid(data.uid)
    tenant_id = new_id("tnt")
    tenant = Tenant(
        id=tenant_id,
        project_id=project_id,
        uid=data.uid or tenant_id,
        name=data.name,
        metadata_=data.metadata,
    )
    session.add(tenant)
    await _flush_unique_uid(session, tenant.uid)
    return tenant


async def update_tenant(
    session: AsyncSession, project_id: str, key: str, patch: TenantPatch
) -> Tenant:
    """Apply ``patch``; a uid is refused as by ``create_tenant`` unless it is the tenant's
    own id (its default uid)."""
    tenant = await get_tenant(session, project_id, key)
    if patch.name is not msgspec.UNSET:
        tenant.name = patch.name
    if patch.uid is not msgspec.UNSET:
        if patch.uid != tenant.id:
            _check_uid(patch.uid)
        tenant.uid = patch.uid
    if patch.metadata is not msgspec.UNSET:
        tenant.metadata_ = patch.metadata
    await _flush_unique_uid(session, tenant.uid)
    return tenant


async def delete_tenant(session: AsyncSession, project_id: str, key: str) -> None:
    """Delete the tenant with its endpoints, messages, deliveries and attempts."""
    tenant = await get_tenant(session, project_id, key)
    await session.execute(delete(Tenant).where(Tenant.id == tenant.id))


def _check_uid(uid: str) -> None:
    if is_tenant_id(uid):
        raise ValidationFailed.field(
            "uid", "must not have the shape of a tenant id (tnt_ followed by 26 characters)"
        )


async def _flush_unique_uid(session: AsyncSession, uid: str) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"a tenant with uid {uid!r} already exists", code="uid_taken") from None
