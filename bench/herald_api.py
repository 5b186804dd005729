"""The calls the bench makes to Herald's public API (``/api/v1``) besides plain publishing:
tenants with endpoints, and a backlog held behind a paused endpoint, then released.

Only the public API: the phases measure any version of Herald, before and after a
rewrite of its delivery.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from bench import load

# How long a released backlog may wait for its first delivery, beyond its own drain time,
# before a phase gives up on it: a resumed endpoint's held deliveries may wait for their
# requeue lease (production default 60 s) to lapse.
RELEASE_GRACE_S = 120.0


async def make_tenant(
    api: httpx.AsyncClient, uid: str, urls: list[str], rate_limit: int | None = None
) -> list[str]:
    """Create tenant ``uid`` with one endpoint per URL, each limited to ``rate_limit``
    deliveries/s when given; returns the endpoint ids in ``urls``' order.

    Raises httpx.HTTPStatusError when Herald refuses a call.
    """
    (await api.post("/tenants", json={"uid": uid, "name": uid})).raise_for_status()
    ids = []
    for url in urls:
        body: dict[str, Any] = {"url": url}
        if rate_limit is not None:
            body["rate_limit"] = rate_limit
        reply = await api.post(f"/tenants/{uid}/endpoints", json=body)
        reply.raise_for_status()
        ids.append(reply.json()["id"])
    return ids


async def set_paused(api: httpx.AsyncClient, tenant: str, endpoint_id: str, paused: bool) -> None:
    """PATCH the endpoint's ``paused``; raises httpx.HTTPStatusError when refused."""
    reply = await api.patch(f"/tenants/{tenant}/endpoints/{endpoint_id}", json={"paused": paused})
    reply.raise_for_status()


async def publish_held(
    api: httpx.AsyncClient,
    client: Any,
    base_url: str,
    tenant: str,
    endpoint_id: str,
    messages: int,
    concurrency: int,
) -> load.LoadReport:
    """Pause the tenant's endpoint, then publish ``messages`` to the tenant at
    ``concurrency``: a backlog that waits for ``resume``. ``client`` is a load session
    authenticated as the project."""
    await set_paused(api, tenant, endpoint_id, True)
    url = messages_url(base_url, tenant)
    return await load.blast(client, url, load.publish_body, messages, concurrency)


async def resume(api: httpx.AsyncClient, tenant: str, endpoint_id: str) -> float:
    """Resume the endpoint; returns the ``time.time()`` taken just before the request
    left: none of the held deliveries can arrive before it."""
    resumed_at_s = time.time()
    await set_paused(api, tenant, endpoint_id, False)
    return resumed_at_s


def messages_url(base_url: str, tenant: str) -> str:
    """The publish URL of ``tenant`` on the Herald at ``base_url``."""
    return f"{base_url}/api/v1/tenants/{tenant}/messages"
