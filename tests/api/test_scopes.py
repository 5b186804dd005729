"""Every route of /api/v1 has a scope decision (app/scopes.py), and the guard keeps it."""

import re
from collections.abc import Iterator

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from app.scopes import ADMIN, PUBLISH, READ, ROUTE_SCOPES

UNDECIDED_METHODS = {"HEAD", "OPTIONS"}


def api_routes(app: Litestar) -> Iterator[tuple[str, str]]:
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path_format.startswith("/api/v1"):
            for method in route.methods - UNDECIDED_METHODS:
                yield method, route.path_format


def test_every_route_has_exactly_one_scope_decision(app: Litestar) -> None:
    # A route added without a line in app.scopes fails here; so does a stale line
    routes = set(api_routes(app))
    assert routes - set(ROUTE_SCOPES) == set(), "routes without a scope decision"
    assert set(ROUTE_SCOPES) - routes == set(), "scope decisions for no route"
    assert all(ADMIN in allowed for allowed in ROUTE_SCOPES.values())


@pytest.mark.parametrize("scope", [READ, PUBLISH])
@pytest.mark.parametrize(("method", "route"), sorted(ROUTE_SCOPES))
async def test_the_guard_follows_the_table(
    api: httpx.AsyncClient, client: httpx.AsyncClient, method: str, route: str, scope: str
) -> None:
    # Given a key holding only ``scope``
    minted = await api.post("/api/v1/api-keys", json={"name": "scoped", "scopes": [scope]})
    assert minted.status_code == 201, minted.text
    headers = {"Authorization": f"Bearer {minted.json()['key']}"}

    # When it calls the route (placeholders for the path, an empty body)
    path = re.sub(r"\{[^}]+\}", "placeholder", route)
    reply = await client.request(method, path, json={}, headers=headers)

    # Then it is refused with 403 exactly when the table says so (else: past the guard,
    # whatever the handler makes of the placeholders)
    if scope in ROUTE_SCOPES[(method, route)]:
        assert reply.status_code not in (401, 403), reply.text
    else:
        assert reply.status_code == 403 and reply.json()["code"] == "forbidden", reply.text
