"""Helpers for portal tests: sign in through a real magic link, act like htmx."""

import re
from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Litestar

CSRF = re.compile(r'name="_csrf" value="([0-9a-f]+)"')


@dataclass
class PortalBrowser:
    """An httpx client holding a portal session cookie, and the session's CSRF token."""

    client: httpx.AsyncClient
    csrf: str

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def htmx(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request as htmx sends it: the CSRF header and ``HX-Request``."""
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)


async def mint_link(api: httpx.AsyncClient, tenant: str, **options: Any) -> dict[str, Any]:
    reply = await api.post(f"/api/v1/tenants/{tenant}/portal-access", json=options)
    assert reply.status_code == 201, reply.text
    link: dict[str, Any] = reply.json()
    return link


async def open_portal(
    app: Litestar, api: httpx.AsyncClient, tenant: str, **options: Any
) -> PortalBrowser:
    """A fresh browser-like client signed in to ``tenant``'s portal via a magic link."""
    link = await mint_link(api, tenant, **options)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://herald.test"
    )
    reply = await client.get("/portal/access", params={"token": link["token"]})
    assert reply.status_code == 303, reply.text
    page = await client.get("/portal/endpoints")
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match is not None
    return PortalBrowser(client=client, csrf=match.group(1))


async def make_tenant(api: httpx.AsyncClient, uid: str) -> None:
    reply = await api.post("/api/v1/tenants", json={"uid": uid, "name": uid.title()})
    assert reply.status_code == 201, reply.text


async def make_endpoint(api: httpx.AsyncClient, tenant: str, url: str, **fields: Any) -> str:
    reply = await api.post(f"/api/v1/tenants/{tenant}/endpoints", json={"url": url, **fields})
    assert reply.status_code == 201, reply.text
    endpoint_id: str = reply.json()["id"]
    return endpoint_id
