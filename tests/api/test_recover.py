"""POST /tenants/{tenant}/endpoints/{endpoint}/recover: a replay of one endpoint."""

from datetime import timedelta

import httpx

from app.config import Settings
from app.db.base import utcnow
from app.db.session import Database
from app.replays.batches import run_replay
from tests.conftest import ProjectKey, make_project
from tests.replay_seed import make_tenant_endpoint, replay_requested, seed_deliveries


def since(minutes_ago: float) -> dict[str, str]:
    return {"since": (utcnow() - timedelta(minutes=minutes_ago)).isoformat()}


async def test_recover_resends_only_that_endpoints_failures(
    api: httpx.AsyncClient, database: Database, settings: Settings, project: ProjectKey
) -> None:
    # Given an endpoint with failed and exhausted deliveries, and a sibling endpoint's failures
    tenant, endpoint = await make_tenant_endpoint(api, "acme")
    sibling = (
        await api.post("/api/v1/tenants/acme/endpoints", json={"url": "https://example.org/b"})
    ).json()["id"]
    pid = project.project_id
    failed = await seed_deliveries(database, pid, tenant, endpoint, 2)
    exhausted = await seed_deliveries(database, pid, tenant, endpoint, 1, status="exhausted")
    await seed_deliveries(
        database, pid, tenant, endpoint, 2, created_at=utcnow() - timedelta(days=2)
    )
    await seed_deliveries(database, pid, tenant, sibling, 3)

    # When the endpoint is recovered for the last hour (tenant addressed by uid)
    reply = await api.post(f"/api/v1/tenants/acme/endpoints/{endpoint}/recover", json=since(60))

    # Then a replay job of that endpoint alone, both statuses, is accepted
    assert reply.status_code == 202, reply.text
    job = reply.json()
    assert (job["endpoint_id"], job["tenant_id"], job["total"]) == (endpoint, tenant, 3)
    assert job["statuses"] == ["exhausted", "failed"]
    await run_replay(database, settings, job["id"])
    assert await replay_requested(database) == set(failed + exhausted)
    assert (await api.get(f"/api/v1/replays/{job['id']}")).json()["status"] == "completed"


async def test_recover_of_a_disabled_endpoint_leaves_it_disabled_with_deliveries_due(
    api: httpx.AsyncClient, database: Database, settings: Settings, project: ProjectKey
) -> None:
    # Given a disabled endpoint with failed deliveries
    tenant, endpoint = await make_tenant_endpoint(api, "acme", disabled=True)
    failed = await seed_deliveries(database, project.project_id, tenant, endpoint, 2)

    # When it is recovered
    reply = await api.post(f"/api/v1/tenants/{tenant}/endpoints/{endpoint}/recover", json=since(60))
    done = await run_replay(database, settings, reply.json()["id"])

    # Then it stays disabled and its deliveries wait, due as replays, until it is enabled
    assert done.requeued == 2
    fetched = (await api.get(f"/api/v1/tenants/acme/endpoints/{endpoint}")).json()
    assert fetched["disabled"] is True
    assert await replay_requested(database) == set(failed)


async def test_recover_of_another_tenants_or_projects_endpoint_is_404(
    api: httpx.AsyncClient, client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # Given two tenants with an endpoint each, and another project
    _, acme_ep = await make_tenant_endpoint(api, "acme")
    await make_tenant_endpoint(api, "globex")
    other = await make_project(database, settings, "other")

    # When an endpoint is recovered through the wrong tenant or the wrong project
    wrong_tenant = await api.post(
        f"/api/v1/tenants/globex/endpoints/{acme_ep}/recover", json=since(5)
    )
    wrong_project = await client.post(
        f"/api/v1/tenants/acme/endpoints/{acme_ep}/recover", json=since(5), headers=other.headers
    )

    # Then both are 404
    assert (wrong_tenant.status_code, wrong_project.status_code) == (404, 404)


async def test_recover_window_must_be_valid(api: httpx.AsyncClient) -> None:
    # Given an endpoint
    _, endpoint = await make_tenant_endpoint(api, "acme")
    url = f"/api/v1/tenants/acme/endpoints/{endpoint}/recover"

    # When the window is empty, inverted or missing, Then 422
    later = (utcnow() + timedelta(hours=1)).isoformat()
    assert (await api.post(url, json=since(-60))).status_code == 422
    inverted = await api.post(url, json={**since(10), "until": since(20)["since"]})
    assert (inverted.status_code, list(inverted.json()["fields"])) == (422, ["until"])
    assert (await api.post(url, json={"until": later})).status_code == 422


async def test_a_recovery_names_the_api_key_that_asked_for_it(api: httpx.AsyncClient) -> None:
    # Given an endpoint and the project's key
    _, endpoint = await make_tenant_endpoint(api, "acme")
    (key,) = (await api.get("/api/v1/api-keys")).json()["data"]

    # When the endpoint is recovered
    reply = await api.post(f"/api/v1/tenants/acme/endpoints/{endpoint}/recover", json=since(60))

    # Then the replay job records that key as its actor
    assert reply.status_code == 202, reply.text
    assert reply.json()["actor"] == {"kind": "api_key", "id": key["id"]}
    fetched = await api.get(f"/api/v1/replays/{reply.json()['id']}")
    assert fetched.json()["actor"] == {"kind": "api_key", "id": key["id"]}
