"""The per-tenant endpoint limit: a project setting, enforced on create, race-safe.

Every test runs on SQLite and on PostgreSQL.
"""

import asyncio

import httpx
import pytest

RECEIVER = "http://127.0.0.1:9/hooks"
ENDPOINTS = "/api/v1/tenants/cust/endpoints"


@pytest.fixture
def database_url(sqlite_or_postgresql_url: str) -> str:
    return sqlite_or_postgresql_url


@pytest.fixture
async def tenant(api: httpx.AsyncClient) -> str:
    reply = await api.post("/api/v1/tenants", json={"uid": "cust", "name": "Customer"})
    assert reply.status_code == 201, reply.text
    return "cust"


async def set_limit(api: httpx.AsyncClient, limit: int) -> None:
    reply = await api.patch("/api/v1/project", json={"max_endpoints_per_tenant": limit})
    assert reply.status_code == 200, reply.text
    assert reply.json()["max_endpoints_per_tenant"] == limit


async def limited_tenant(api: httpx.AsyncClient, limit: int, holding: int) -> None:
    """Set the project's limit to ``limit``, and give the tenant ``holding`` endpoints."""
    await set_limit(api, limit)
    for n in range(holding):
        assert (await api.post(ENDPOINTS, json={"url": f"{RECEIVER}/{n}"})).status_code == 201


async def endpoint_count(api: httpx.AsyncClient) -> int:
    reply = await api.get(ENDPOINTS, params={"limit": 250})
    assert reply.status_code == 200, reply.text
    return len(reply.json()["data"])


async def test_the_default_limit_is_50(api: httpx.AsyncClient, tenant: str) -> None:
    # Given a new project, whose setting says 50
    assert (await api.get("/api/v1/project")).json()["max_endpoints_per_tenant"] == 50

    # When a tenant's endpoints are created one after another, 51 times
    replies = [await api.post(ENDPOINTS, json={"url": f"{RECEIVER}/{n}"}) for n in range(51)]

    # Then the first 50 are created and the 51st is refused
    assert [reply.status_code for reply in replies[:50]] == [201] * 50
    assert replies[50].status_code == 409
    assert replies[50].json()["code"] == "endpoint_limit"
    assert await endpoint_count(api) == 50


async def test_create_at_the_limit_is_refused_until_the_setting_rises(
    api: httpx.AsyncClient, tenant: str
) -> None:
    # Given a project allowing 2 endpoints per tenant, and a tenant holding 2
    await limited_tenant(api, limit=2, holding=2)

    # When a third is created
    refused = await api.post(ENDPOINTS, json={"url": f"{RECEIVER}/2"})

    # Then it is a 409 with a stable code and a sentence naming the limit and the setting
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "endpoint_limit"
    assert "(2)" in body["detail"] and "max_endpoints_per_tenant" in body["detail"]
    assert await endpoint_count(api) == 2

    # And another tenant of the project is not affected by this one's endpoints
    assert (await api.post("/api/v1/tenants", json={"uid": "other", "name": "O"})).is_success
    other = await api.post("/api/v1/tenants/other/endpoints", json={"url": RECEIVER})
    assert other.status_code == 201

    # And once the project raises the setting, the third is created
    await set_limit(api, 3)
    assert (await api.post(ENDPOINTS, json={"url": f"{RECEIVER}/2"})).status_code == 201
    assert await endpoint_count(api) == 3

    # And after a delete there is room for one more again
    first = (await api.get(ENDPOINTS)).json()["data"][0]["id"]
    assert (await api.delete(f"{ENDPOINTS}/{first}")).status_code == 204
    assert (await api.post(ENDPOINTS, json={"url": f"{RECEIVER}/3"})).status_code == 201


@pytest.mark.parametrize("limit", [0, -1, 251, "many", None])
async def test_an_invalid_setting_is_422(api: httpx.AsyncClient, limit: object) -> None:
    # When the setting is patched to something that is not 1 to 250
    reply = await api.patch("/api/v1/project", json={"max_endpoints_per_tenant": limit})

    # Then it is refused naming the field, and the setting is unchanged
    assert reply.status_code == 422, reply.text
    assert "max_endpoints_per_tenant" in reply.text
    assert (await api.get("/api/v1/project")).json()["max_endpoints_per_tenant"] == 50


async def test_concurrent_creates_at_the_limit_never_pass_it(
    api: httpx.AsyncClient, tenant: str
) -> None:
    # Given a tenant one endpoint short of its limit of 3
    await limited_tenant(api, limit=3, holding=2)

    # When 8 creates race for the last place
    replies = await asyncio.gather(
        *(api.post(ENDPOINTS, json={"url": f"{RECEIVER}/race-{n}"}) for n in range(8))
    )

    # Then exactly one wins, the others are refused with the code, and the tenant has 3
    statuses = sorted(reply.status_code for reply in replies)
    assert statuses == [201] + [409] * 7, [reply.text for reply in replies]
    assert {reply.json()["code"] for reply in replies if reply.status_code == 409} == {
        "endpoint_limit"
    }
    assert await endpoint_count(api) == 3
