"""POST/GET /api/v1/replays: filters, counts, batches, idempotent re-run, isolation."""

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from app.config import Settings
from app.db.base import utcnow
from app.db.models import Delivery
from app.db.session import Database
from app.replays.batches import run_replay
from tests.conftest import ProjectKey, make_project
from tests.replay_seed import make_tenant_endpoint, replay_requested, seed_deliveries


def iso(minutes_ago: float) -> str:
    return (utcnow() - timedelta(minutes=minutes_ago)).isoformat()


async def create(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    reply = await api.post("/api/v1/replays", json={"since": iso(60), **body})
    assert reply.status_code == 202, reply.text
    replay: dict[str, Any] = reply.json()
    return replay


async def test_a_replay_counts_failed_and_exhausted_deliveries_of_its_window(
    api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    # Given failed, exhausted and succeeded deliveries in the last hour, and old failures
    tenant, endpoint = await make_tenant_endpoint(api, "acme")
    seed = (project.project_id, tenant, endpoint)
    await seed_deliveries(database, *seed, 3, status="failed")
    await seed_deliveries(database, *seed, 2, status="exhausted")
    await seed_deliveries(database, *seed, 4, status="succeeded")
    await seed_deliveries(database, *seed, 5, created_at=utcnow() - timedelta(hours=3))

    # When a replay of the last hour is asked for (statuses default to both)
    replay = await create(api)

    # Then it is queued with the five matching deliveries as its total
    assert replay["id"].startswith("rpl_")
    assert (replay["status"], replay["total"], replay["done"]) == ("queued", 5, 0)
    assert replay["statuses"] == ["exhausted", "failed"]
    fetched = (await api.get(f"/api/v1/replays/{replay['id']}")).json()
    assert (fetched["total"], fetched["succeeded"]) == (5, 0)


async def test_filters_narrow_the_count(
    api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    # Given two tenants, two endpoints for one of them, and two event types
    acme, acme_ep = await make_tenant_endpoint(api, "acme")
    second_ep = (
        await api.post("/api/v1/tenants/acme/endpoints", json={"url": "https://example.org/b"})
    ).json()["id"]
    globex, globex_ep = await make_tenant_endpoint(api, "globex")
    pid = project.project_id
    await seed_deliveries(database, pid, acme, acme_ep, 3)
    await seed_deliveries(database, pid, acme, acme_ep, 2, status="exhausted")
    await seed_deliveries(database, pid, acme, second_ep, 4, event_type="user.created")
    await seed_deliveries(database, pid, globex, globex_ep, 6)

    # When replays are asked for with each filter, Then each total counts only its match
    assert (await create(api))["total"] == 15
    assert (await create(api, tenant="acme"))["total"] == 9
    assert (await create(api, tenant=globex))["total"] == 6
    assert (await create(api, endpoint=acme_ep))["total"] == 5
    assert (await create(api, endpoint=acme_ep, status=["exhausted"]))["total"] == 2
    assert (await create(api, event_type="user.created"))["total"] == 4
    assert (await create(api, until=iso(30)))["total"] == 0


async def test_running_a_replay_requeues_each_match_once_in_batches(
    api: httpx.AsyncClient, database: Database, settings: Settings, project: ProjectKey
) -> None:
    # Given seven failed deliveries and one succeeded one
    tenant, endpoint = await make_tenant_endpoint(api, "acme")
    failed = await seed_deliveries(database, project.project_id, tenant, endpoint, 7)
    await seed_deliveries(database, project.project_id, tenant, endpoint, 1, status="succeeded")
    replay = await create(api)

    # When its batches run, three deliveries at a time
    seen: list[tuple[str, int]] = []
    await run_replay(
        database,
        settings,
        replay["id"],
        on_progress=lambda r: seen.append((r.status, r.done)),
        batch_size=3,
    )

    # Then the progress advanced batch by batch and exactly the failed ones are due now
    # as replays, each under a lease
    assert seen == [("running", 3), ("running", 6), ("completed", 7)]
    assert await replay_requested(database) == set(failed)
    fetched = (await api.get(f"/api/v1/replays/{replay['id']}")).json()
    assert fetched["status"] == "completed"
    assert (fetched["done"], fetched["requeued"], fetched["skipped"], fetched["percent"]) == (
        7,
        7,
        0,
        100,
    )
    assert fetched["finished_at"] is not None


async def leases(database: Database) -> dict[str, str | None]:
    async with database.session() as session:
        rows = await session.execute(select(Delivery.id, Delivery.lease_token))
        return {row.id: row.lease_token for row in rows}


async def test_a_rerun_does_not_requeue_deliveries_already_due_under_a_replay(
    api: httpx.AsyncClient, database: Database, settings: Settings, project: ProjectKey
) -> None:
    # Given a replay that has re-queued four failed deliveries (not yet attempted)
    tenant, endpoint = await make_tenant_endpoint(api, "acme")
    failed = await seed_deliveries(database, project.project_id, tenant, endpoint, 4)
    first = await create(api)
    await run_replay(database, settings, first["id"])
    leased_before = await leases(database)

    # When the same replay is asked for and run again
    second = await create(api)
    done = await run_replay(database, settings, second["id"])

    # Then it matches them but skips every one: same leases, nothing queued twice
    assert second["total"] == 4
    assert (done.requeued, done.skipped, done.status) == (0, 4, "completed")
    assert await leases(database) == leased_before
    assert await replay_requested(database) == set(failed)


async def test_validation_errors_are_422_naming_the_field(api: httpx.AsyncClient) -> None:
    # Given a tenant with an endpoint, and another tenant
    await make_tenant_endpoint(api, "acme")
    _, globex_ep = await make_tenant_endpoint(api, "globex")
    cases = [
        ({"since": iso(10), "until": iso(20)}, "until"),
        ({"since": iso(10), "tenant": "nobody"}, "tenant"),
        ({"since": iso(10), "endpoint": "ep_missing"}, "endpoint"),
        ({"since": iso(10), "tenant": "acme", "endpoint": globex_ep}, "endpoint"),
        ({"since": iso(10), "status": ["succeeded"]}, "status[0]"),
        ({"since": "2026-01-01T00:00:00"}, "since"),
    ]
    for body, field in cases:
        # When each invalid body is posted
        reply = await api.post("/api/v1/replays", json=body)
        # Then it is a 422 naming the field
        assert reply.status_code == 422, (body, reply.text)
        assert reply.json()["code"] == "validation_failed"
        assert field in reply.json()["fields"], (body, reply.json())
    # And a missing `since` too
    assert (await api.post("/api/v1/replays", json={})).status_code == 422


async def test_replays_are_isolated_between_projects(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    project: ProjectKey,
) -> None:
    # Given project A's replay over its failed deliveries, and project B
    tenant, endpoint = await make_tenant_endpoint(api, "acme")
    await seed_deliveries(database, project.project_id, tenant, endpoint, 3)
    replay = await create(api)
    other = await make_project(database, settings, "other")

    # When B asks for A's replay, A's tenant or endpoint, or a replay of its own
    get = await client.get(f"/api/v1/replays/{replay['id']}", headers=other.headers)
    by_tenant = await client.post(
        "/api/v1/replays", json={"since": iso(60), "tenant": tenant}, headers=other.headers
    )
    by_endpoint = await client.post(
        "/api/v1/replays", json={"since": iso(60), "endpoint": endpoint}, headers=other.headers
    )
    own = await client.post("/api/v1/replays", json={"since": iso(60)}, headers=other.headers)
    await run_replay(database, settings, own.json()["id"])

    # Then A's objects do not exist for B, and B's replay touches none of A's deliveries
    assert get.status_code == 404
    assert (by_tenant.status_code, by_endpoint.status_code) == (422, 422)
    assert own.json()["total"] == 0
    assert await replay_requested(database) == set()


async def test_replays_need_an_api_key(client: httpx.AsyncClient) -> None:
    # When the replays API is called without a key, Then it is refused
    assert (await client.post("/api/v1/replays", json={"since": iso(1)})).status_code == 401
    assert (await client.get("/api/v1/replays/rpl_x")).status_code == 401


async def test_a_replay_names_the_api_key_that_started_it(api: httpx.AsyncClient) -> None:
    # Given the project's first key and a second admin key of the same project
    (first,) = (await api.get("/api/v1/api-keys")).json()["data"]
    second = (await api.post("/api/v1/api-keys", json={"name": "ops"})).json()

    # When each starts a replay
    by_first = await create(api)
    as_second = {"Authorization": f"Bearer {second['key']}"}
    reply = await api.post("/api/v1/replays", json={"since": iso(60)}, headers=as_second)
    by_second = reply.json()

    # Then each reply, and the replay read back, names the key that started it
    assert by_first["actor"] == {"kind": "api_key", "id": first["id"]}
    assert by_second["actor"] == {"kind": "api_key", "id": second["id"]}
    fetched = (await api.get(f"/api/v1/replays/{by_second['id']}")).json()
    assert fetched["actor"] == {"kind": "api_key", "id": second["id"]}
