"""Endpoints: a tenant's webhook URLs, their filters, custom headers, state and health.

Every URL written passes the SSRF guard; every secret goes through ``app.endpoints.secrets``
and is stored sealed only.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.base import utcnow
from app.db.models import Delivery, Endpoint, Project, Tenant
from app.db.session import enqueue_after_commit
from app.delivery.headers import validate_custom_headers
from app.delivery.signing import InvalidKey, parse_key
from app.delivery.ssrf import NetworkPolicy, UnsafeURL, check_endpoint_url
from app.endpoints import secrets
from app.endpoints.schemas import EndpointIn, EndpointPatch, Status
from app.errors import Conflict, Forbidden, ValidationFailed, not_found
from app.ids import new_id
from app.operational.events import announce, endpoint_event
from app.outbox import LaneWork
from app.pagination import Page, PageRequest, paginate
from app.projects.service import get_project
from app.secretbox import SecretBox
from app.tenants.service import get_tenant

# Why an endpoint is disabled (``disabled_reason``). The tenant may enable again what it
# disabled itself in the portal, and what Herald disabled for failing
# (``app.delivery.health``: a 410, or failures for the project's disable-after); what
# the producer disabled through the API stays disabled until the producer enables it.
DISABLED_BY_API = "disabled through the API"
DISABLED_IN_PORTAL = "disabled in the portal"
TENANT_ENABLES = ("the endpoint answered 410 Gone", "every attempt failed for ")
STATS_WINDOW = timedelta(hours=24)
DELIVERY_STATES = ("pending", "succeeded", "failed", "exhausted")


def endpoint_status(endpoint: Endpoint) -> Status:
    """``disabled``, else ``paused``, else ``failing`` (failures under way), else ``active``."""
    if endpoint.disabled:
        return "disabled"
    if endpoint.paused:
        return "paused"
    if endpoint.failing_since is not None:
        return "failing"
    return "active"


async def get_endpoint(
    session: AsyncSession, project_id: str, tenant_key: str, endpoint_id: str
) -> Endpoint:
    """The endpoint ``endpoint_id`` of the project's tenant ``tenant_key``; ``NotFound`` else."""
    tenant = await get_tenant(session, project_id, tenant_key)
    return await endpoint_of(session, tenant, endpoint_id)


async def endpoint_of(session: AsyncSession, tenant: Tenant, endpoint_id: str) -> Endpoint:
    """The endpoint ``endpoint_id`` of ``tenant``; ``NotFound`` otherwise."""
    endpoint = await session.scalar(_of_tenant(tenant).where(Endpoint.id == endpoint_id))
    if endpoint is None:
        raise not_found("endpoint", endpoint_id)
    return endpoint


async def list_endpoints(
    session: AsyncSession, project_id: str, tenant_key: str, page: PageRequest
) -> Page[Endpoint]:
    tenant = await get_tenant(session, project_id, tenant_key)
    return await list_tenant_endpoints(session, tenant, page)


async def list_tenant_endpoints(
    session: AsyncSession, tenant: Tenant, page: PageRequest
) -> Page[Endpoint]:
    return await paginate(session, _of_tenant(tenant), Endpoint.id, page)


async def create_endpoint(
    session: AsyncSession,
    box: SecretBox,
    policy: NetworkPolicy,
    project_id: str,
    tenant_key: str,
    data: EndpointIn,
) -> Endpoint:
    """A new endpoint with its current signing key (``data.secret`` or a new ``whsec_``).

    Raises ``ValidationFailed`` naming ``url``, ``headers`` or ``secret``.
    """
    tenant = await get_tenant(session, project_id, tenant_key)
    return await add_endpoint(session, box, policy, tenant, data)


async def add_endpoint(
    session: AsyncSession, box: SecretBox, policy: NetworkPolicy, tenant: Tenant, data: EndpointIn
) -> Endpoint:
    """``create_endpoint`` for a tenant already in hand (operational endpoints use it too).

    Raises ``Conflict`` (``endpoint_limit``) when the tenant holds its project's
    ``max_endpoints_per_tenant`` endpoints already.
    """
    await check_url(data.url, policy)
    headers = validate_custom_headers("headers", data.headers)
    key_text = data.secret
    if key_text is not None:
        _parse_secret("secret", key_text)
    await check_endpoint_limit(session, tenant)
    endpoint = Endpoint(
        id=new_id("ep"),
        project_id=tenant.project_id,
        tenant_id=tenant.id,
        url=data.url,
        description=data.description,
        event_types=data.event_types,
        channels=data.channels,
        rate_limit=data.rate_limit,
        headers=headers,
        metadata_=data.metadata,
        paused=data.paused,
        disabled=data.disabled,
        disabled_reason=DISABLED_BY_API if data.disabled else None,
    )
    session.add(endpoint)
    await session.flush()
    await secrets.add_current_key(session, box, endpoint.id, key_text)
    return endpoint


async def check_endpoint_limit(session: AsyncSession, tenant: Tenant) -> None:
    """Raise ``Conflict`` (``endpoint_limit``) unless ``tenant`` may have one more endpoint
    (``NotFound`` if it is gone).

    The tenant's row stays locked until the transaction ends (FOR NO KEY UPDATE on
    PostgreSQL, which the foreign-key checks of publishing do not wait for; on SQLite,
    BEGIN IMMEDIATE holds the database's write lock already), so of two creates at the
    limit the second counts after the first commits. The count is a statement of its
    own: on PostgreSQL it then reads what committed while it waited.
    """
    limit = await session.scalar(
        select(Project.max_endpoints_per_tenant)
        .join(Tenant, Tenant.project_id == Project.id)
        .where(Tenant.id == tenant.id)
        .with_for_update(of=Tenant, key_share=True)
    )
    count = await session.scalar(
        select(func.count()).select_from(Endpoint).where(Endpoint.tenant_id == tenant.id)
    )
    if limit is None:  # deleted since it was read
        raise not_found("tenant", tenant.id)
    if (count or 0) >= limit:
        raise Conflict(
            f"this tenant already has {count} endpoints, the most its project allows"
            f" ({limit}); delete one first, or raise the project's max_endpoints_per_tenant",
            code="endpoint_limit",
        )


async def update_endpoint(
    session: AsyncSession,
    settings: Settings,
    project_id: str,
    tenant_key: str,
    endpoint_id: str,
    patch: EndpointPatch,
) -> Endpoint:
    """Apply ``patch`` to the tenant's endpoint (see ``apply_patch``)."""
    endpoint = await get_endpoint(session, project_id, tenant_key, endpoint_id)
    return await apply_patch(session, settings, endpoint, patch)


async def set_disabled_by_tenant(
    session: AsyncSession,
    settings: Settings,
    project_id: str,
    tenant_key: str,
    endpoint_id: str,
    disabled: bool,
) -> Endpoint:
    """The tenant disables (``DISABLED_IN_PORTAL``) or enables its endpoint; enabling one
    the producer disabled raises ``Forbidden`` (``disabled_by_producer``)."""
    endpoint = await get_endpoint(session, project_id, tenant_key, endpoint_id)
    if endpoint.disabled and not disabled and not tenant_may_enable(endpoint):
        raise Forbidden(
            "this endpoint was disabled by your provider, so only they can enable it again;"
            " contact them if you need it back",
            code="disabled_by_producer",
        )
    patch = EndpointPatch(disabled=disabled)
    return await apply_patch(session, settings, endpoint, patch, reason=DISABLED_IN_PORTAL)


def tenant_may_enable(endpoint: Endpoint) -> bool:
    """Whether the tenant disabled ``endpoint`` itself, or Herald did for failing."""
    reason = endpoint.disabled_reason or ""
    return reason == DISABLED_IN_PORTAL or reason.startswith(TENANT_ENABLES)


async def apply_patch(
    session: AsyncSession,
    settings: Settings,
    endpoint: Endpoint,
    patch: EndpointPatch,
    *,
    reason: str = DISABLED_BY_API,
) -> Endpoint:
    """Apply ``patch`` (a disable records ``reason``); enabling a disabled endpoint also
    resets its health and tells the project's operational endpoints
    (``endpoint.enabled``). Resuming or enabling it, or changing its rate limit, wakes its
    lane after the commit: deliveries held while it was paused or disabled go at once."""
    wake = (
        (patch.paused is False and endpoint.paused)
        or (patch.disabled is False and endpoint.disabled)
        or (patch.rate_limit is not msgspec.UNSET and patch.rate_limit != endpoint.rate_limit)
    )
    if patch.url is not msgspec.UNSET:
        await check_url(patch.url, NetworkPolicy(allowed=settings.allowed_private_networks))
        endpoint.url = patch.url
    if patch.headers is not msgspec.UNSET:
        endpoint.headers = validate_custom_headers("headers", patch.headers)
    plain = {
        "description": patch.description,
        "event_types": patch.event_types,
        "channels": patch.channels,
        "rate_limit": patch.rate_limit,
        "metadata_": patch.metadata,
        "paused": patch.paused,
    }
    for attribute, value in plain.items():
        if value is not msgspec.UNSET:
            setattr(endpoint, attribute, value)
    enabling = patch.disabled is False and endpoint.disabled
    if patch.disabled is not msgspec.UNSET:
        set_disabled(endpoint, patch.disabled, reason)
    endpoint.updated_at = utcnow()
    await session.flush()
    if wake and not (endpoint.paused or endpoint.disabled):
        work = LaneWork(endpoint.tenant_id, endpoint.id, endpoint.rate_limit, endpoint.updated_at)
        enqueue_after_commit(session, work)
    if enabling:
        tenant = await session.get(Tenant, endpoint.tenant_id)
        assert tenant is not None
        await announce(session, settings, [endpoint_event("endpoint.enabled", tenant, endpoint)])
    return endpoint


def set_disabled(endpoint: Endpoint, disabled: bool, reason: str) -> None:
    """Disable with ``reason``, or enable: clears the reason and the failure history."""
    if disabled and not endpoint.disabled:
        endpoint.disabled = True
        endpoint.disabled_reason = reason
    elif not disabled and endpoint.disabled:
        endpoint.disabled = False
        endpoint.disabled_reason = None
        endpoint.failing_since = None
        endpoint.consecutive_failures = 0
        endpoint.circuit_open_until = None


async def delete_endpoint(
    session: AsyncSession, project_id: str, tenant_key: str, endpoint_id: str
) -> None:
    """Delete the endpoint with its keys, deliveries and attempts."""
    await remove_endpoint(session, await get_endpoint(session, project_id, tenant_key, endpoint_id))


async def remove_endpoint(session: AsyncSession, endpoint: Endpoint) -> None:
    await session.execute(delete(Endpoint).where(Endpoint.id == endpoint.id))


async def get_secret(
    session: AsyncSession, box: SecretBox, project_id: str, tenant_key: str, endpoint_id: str
) -> secrets.CurrentKey:
    endpoint = await get_endpoint(session, project_id, tenant_key, endpoint_id)
    return await secrets.get_current_key(session, box, endpoint.id)


async def rotate_secret(
    session: AsyncSession,
    box: SecretBox,
    project_id: str,
    tenant_key: str,
    endpoint_id: str,
    key_text: str | None,
) -> None:
    """Rotate to ``key_text`` (or a new key); the old one signs on for the project's overlap."""
    endpoint = await get_endpoint(session, project_id, tenant_key, endpoint_id)
    await rotate_endpoint_secret(session, box, endpoint, key_text)


async def rotate_endpoint_secret(
    session: AsyncSession, box: SecretBox, endpoint: Endpoint, key_text: str | None
) -> None:
    if key_text is not None:
        _parse_secret("key", key_text)
    project = await get_project(session, endpoint.project_id)
    await secrets.rotate_key(session, box, endpoint, project.secret_overlap_s, key_text)


@dataclass(frozen=True)
class DeliveryStats:
    """Deliveries of an endpoint updated since ``since``, counted by state."""

    since: datetime
    counts: Mapping[str, int]

    @property
    def success_rate(self) -> float | None:
        """Succeeded over settled-or-failing (pending left out); None when there are none."""
        tried = sum(self.counts.get(state, 0) for state in ("succeeded", "failed", "exhausted"))
        return self.counts.get("succeeded", 0) / tried if tried else None


async def delivery_stats(
    session: AsyncSession,
    project_id: str,
    tenant_key: str,
    endpoint_id: str,
    since: datetime | None,
) -> DeliveryStats:
    """Count the endpoint's deliveries updated since ``since`` (default 24 h ago) by state."""
    endpoint = await get_endpoint(session, project_id, tenant_key, endpoint_id)
    return (await endpoints_delivery_stats(session, [endpoint.id], since))[endpoint.id]


async def endpoints_delivery_stats(
    session: AsyncSession, endpoint_ids: Sequence[str], since: datetime | None
) -> dict[str, DeliveryStats]:
    """``delivery_stats`` of each of ``endpoint_ids`` (already scoped by the caller), in
    one query whatever their number."""
    if since is None:
        since = utcnow() - STATS_WINDOW
    elif since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    counts = {endpoint_id: dict.fromkeys(DELIVERY_STATES, 0) for endpoint_id in endpoint_ids}
    if endpoint_ids:
        rows = await session.execute(
            select(Delivery.endpoint_id, Delivery.status, func.count())
            .where(Delivery.endpoint_id.in_(endpoint_ids), Delivery.updated_at >= since)
            .group_by(Delivery.endpoint_id, Delivery.status)
        )
        for endpoint_id, status, n in rows:
            counts[endpoint_id][status] = n
    return {
        endpoint_id: DeliveryStats(since=since, counts=endpoint_counts)
        for endpoint_id, endpoint_counts in counts.items()
    }


async def check_url(url: str, policy: NetworkPolicy) -> None:
    """Raise ``ValidationFailed`` (field ``url``) unless the SSRF guard accepts ``url``."""
    try:
        await check_endpoint_url(url, policy)
    except UnsafeURL as exc:
        raise ValidationFailed.field("url", exc.reason) from None


def _parse_secret(field: str, key_text: str) -> None:
    try:
        parse_key(key_text)
    except InvalidKey as exc:
        raise ValidationFailed.field(field, str(exc)) from None


def _of_tenant(tenant: Tenant) -> Select[Endpoint]:
    return select(Endpoint).where(
        Endpoint.project_id == tenant.project_id, Endpoint.tenant_id == tenant.id
    )
