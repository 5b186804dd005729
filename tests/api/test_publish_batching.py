"""Concurrent publishes share transactions (app.messages.batcher), on SQLite and on
PostgreSQL, and every request still gets its own outcome: nothing of a failed request is
written, nothing of its neighbours is lost."""

import asyncio
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import event

from app.config import Settings
from app.db.models import Delivery, Message
from app.db.session import Database
from tests.api.test_messages import count, setup_tenant
from tests.conftest import ProjectKey, make_project

ORDER_SCHEMA = {
    "type": "object",
    "required": ["id"],
    "properties": {"id": {"type": "string"}},
}


@pytest.fixture
def database_url(sqlite_or_postgresql_url: str) -> str:
    return sqlite_or_postgresql_url


def order(**payload: Any) -> dict[str, Any]:
    return {"event_type": "order.created", "payload": payload}


async def gather_posts(
    api: httpx.AsyncClient, posts: list[tuple[str, dict[str, Any]]]
) -> list[httpx.Response]:
    return list(
        await asyncio.gather(*(api.post(f"/api/v1/tenants/{t}/messages", json=b) for t, b in posts))
    )


def count_commits(app: Litestar) -> list[int]:
    commits = [0]

    def on_commit(_connection: object) -> None:
        commits[0] += 1

    event.listen(app.state.database.engine.sync_engine, "commit", on_commit)
    return commits


async def test_concurrent_publishes_share_transactions_and_keep_their_own_outcome(
    api: httpx.AsyncClient, app: Litestar, database: Database
) -> None:
    # Given two tenants (2 and 1 endpoints) and an event type with a schema
    await setup_tenant(api, "acme", endpoints=2)
    await setup_tenant(api, "beta", endpoints=1)
    created = await api.post(
        "/api/v1/event-types", json={"name": "order.created", "schema": ORDER_SCHEMA}
    )
    assert created.status_code == 201, created.text
    commits = count_commits(app)
    # When 62 publishes race: valid ones, an unknown tenant, invalid payloads, a duplicate
    posts = (
        [("acme", order(id=f"a{i}")) for i in range(30)]
        + [("beta", order(id=f"b{i}")) for i in range(20)]
        + [("ghost", order(id="g")) for _ in range(5)]
        + [("acme", order(id=7)) for _ in range(5)]
        + [("beta", {**order(id="d"), "event_id": "dup"}) for _ in range(2)]
    )
    replies = await gather_posts(api, posts)
    # Then each got its own answer
    statuses = [reply.status_code for reply in replies]
    assert statuses[:50] == [202] * 50
    assert statuses[50:55] == [404] * 5
    assert {replies[50].json()["code"]} == {"not_found"}
    assert statuses[55:60] == [422] * 5
    assert replies[55].json()["code"] == "payload_invalid"
    assert replies[55].json()["fields"] == {"payload/id": "7 is not of type 'string'"}
    assert sorted(statuses[60:]) == [200, 202]
    assert replies[60].json()["id"] == replies[61].json()["id"]
    # and exactly the accepted messages, with their deliveries, were written
    assert len({reply.json()["id"] for reply in replies[:50]}) == 50
    assert await count(database, Message) == 51
    assert await count(database, Delivery) == 30 * 2 + 20 + 1
    # in far fewer transactions than requests
    assert commits[0] <= len(posts) // 3, commits


@pytest.mark.parametrize("sqlite_or_postgresql_url", ["postgresql"], indirect=True)
async def test_a_value_the_database_refuses_fails_only_its_own_request(
    api: httpx.AsyncClient, database: Database
) -> None:
    # Given a tenant
    await setup_tenant(api, "acme")
    # When a publish whose event type PostgreSQL cannot store (a NUL character) races
    # twenty good ones into the same transaction
    poison = ("acme", {"event_type": "order\u0000created", "payload": {}})
    posts = (
        [("acme", order(id=str(i))) for i in range(10)]
        + [poison]
        + [("acme", order(id=str(i))) for i in range(10, 20)]
    )
    replies = await gather_posts(api, posts)
    # Then it alone is refused, with the contract's error shape, and the rest are stored
    statuses = [reply.status_code for reply in replies]
    assert statuses == [202] * 10 + [422] + [202] * 10
    assert replies[10].json()["code"] == "validation_failed"
    assert await count(database, Message) == 20
    assert await count(database, Delivery) == 20


async def test_each_project_in_a_batch_is_validated_by_its_own_schemas(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # Given two projects whose "order.created" schemas differ, and a project with none
    projects = [await make_project(database, settings, name) for name in ("p1", "p2", "p3")]
    schemas = [ORDER_SCHEMA, {"type": "object", "required": ["sku"]}, None]
    for project, schema in zip(projects, schemas, strict=True):
        client.headers.update(project.headers)
        await setup_tenant(client, "acme")
        if schema is not None:
            reply = await client.post(
                "/api/v1/event-types", json={"name": "order.created", "schema": schema}
            )
            assert reply.status_code == 201, reply.text

    # When each publishes a body that suits only the first project's schema, all at once
    async def publish(project: ProjectKey) -> int:
        reply = await client.post(
            "/api/v1/tenants/acme/messages", json=order(id="o1"), headers=project.headers
        )
        return reply.status_code

    statuses = await asyncio.gather(*(publish(project) for project in projects * 5))
    # Then each is checked against its own project's schema only
    assert statuses == [202, 422, 202] * 5
