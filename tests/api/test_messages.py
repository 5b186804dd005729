"""Publishing and reading messages through the API, on SQLite and on PostgreSQL (which
publishes in one write, app.messages.one_write). No worker: jobs are only recorded."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from app.config import Settings
from app.db.base import utcnow
from app.db.models import Delivery, Message
from app.db.session import Database
from app.messages.service import DEDUPE_WINDOW
from tests.conftest import make_project
from tests.queue import RecordingSender


@pytest.fixture
def database_url(sqlite_or_postgresql_url: str) -> str:
    return sqlite_or_postgresql_url


@pytest.fixture
def job_sender() -> RecordingSender:
    return RecordingSender()


async def setup_tenant(api: httpx.AsyncClient, uid: str = "acme", endpoints: int = 1) -> None:
    await api.post("/api/v1/tenants", json={"uid": uid, "name": uid})
    for i in range(endpoints):
        reply = await api.post(
            f"/api/v1/tenants/{uid}/endpoints", json={"url": f"http://127.0.0.1:9/{i}"}
        )
        assert reply.status_code == 201, reply.text


def body(**extra: Any) -> dict[str, Any]:
    return {"event_type": "invoice.paid", "payload": {"id": "in_1"}, **extra}


async def count(database: Database, model: type[Message] | type[Delivery]) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_publish_creates_one_delivery_per_endpoint(
    api: httpx.AsyncClient, database: Database
) -> None:
    # Given a tenant with two endpoints
    await setup_tenant(api, endpoints=2)
    # When a message is published
    reply = await api.post("/api/v1/tenants/acme/messages", json=body())
    # Then it is accepted with its id, and two pending deliveries exist
    assert reply.status_code == 202, reply.text
    message = reply.json()
    assert message["id"].startswith("msg_") and message["event_type"] == "invoice.paid"
    rows = (await api.get(f"/api/v1/tenants/acme/messages/{message['id']}/deliveries")).json()
    assert [row["status"] for row in rows["data"]] == ["pending", "pending"]
    detail = (await api.get(f"/api/v1/tenants/acme/messages/{message['id']}")).json()
    assert detail["payload"] == {"id": "in_1"}


async def test_concurrent_duplicates_make_one_message(
    api: httpx.AsyncClient, database: Database
) -> None:
    # Given a tenant with one endpoint
    await setup_tenant(api)
    # When 20 publishes with the same event_id race each other
    replies = await asyncio.gather(
        *(api.post("/api/v1/tenants/acme/messages", json=body(event_id="evt-1")) for _ in range(20))
    )
    # Then one is new (202), the others return the same message (200), one delivery in all
    assert sorted(r.status_code for r in replies) == [200] * 19 + [202]
    assert len({r.json()["id"] for r in replies}) == 1
    assert await count(database, Message) == 1
    assert await count(database, Delivery) == 1


async def test_publishing_wakes_each_live_endpoints_lane_once_and_holds_a_paused_one(
    api: httpx.AsyncClient, database: Database, job_sender: RecordingSender
) -> None:
    # Given a tenant with two endpoints, the second paused
    await setup_tenant(api, endpoints=2)
    endpoints = (await api.get("/api/v1/tenants/acme/endpoints")).json()["data"]
    paused = endpoints[1]["id"]
    await api.patch(f"/api/v1/tenants/acme/endpoints/{paused}", json={"paused": True})
    woken_before = len(job_sender.woken)
    # When a message is published, then published again with the same event id
    first = await api.post("/api/v1/tenants/acme/messages", json=body(event_id="e1"))
    again = await api.post("/api/v1/tenants/acme/messages", json=body(event_id="e1"))
    assert (first.status_code, again.status_code) == (202, 200)
    # Then both deliveries are due and unleased: a worker claims them from the database
    async with database.session() as session:
        rows = {d.endpoint_id: d for d in await session.scalars(select(Delivery))}
    assert all(row.next_attempt_at is not None and row.lease_token is None for row in rows.values())
    # And only the live endpoint's lane was woken, once, due when the message was stored
    [woken] = job_sender.woken[woken_before:]
    live = rows[endpoints[0]["id"]]
    assert (woken.endpoint_id, woken.tenant_id, woken.due_at) == (
        live.endpoint_id,
        live.tenant_id,
        live.next_attempt_at,
    )


async def test_an_event_id_past_the_dedupe_window_makes_a_new_message(
    api: httpx.AsyncClient, database: Database
) -> None:
    # Given a message published with an event id before the dedupe window
    await setup_tenant(api)
    old = (await api.post("/api/v1/tenants/acme/messages", json=body(event_id="e"))).json()
    async with database.session() as session:
        await session.execute(
            update(Message).values(created_at=utcnow() - DEDUPE_WINDOW - timedelta(hours=1))
        )
        await session.commit()
    # When the same event id is published again
    reply = await api.post("/api/v1/tenants/acme/messages", json=body(event_id="e"))
    # Then it is a new message with its own delivery, and holds the key now
    assert reply.status_code == 202, reply.text
    assert reply.json()["id"] != old["id"]
    assert await count(database, Delivery) == 2
    duplicate = await api.post("/api/v1/tenants/acme/messages", json=body(event_id="e"))
    assert (duplicate.status_code, duplicate.json()["id"]) == (200, reply.json()["id"])


async def test_channels_and_headers_are_stored_as_given(api: httpx.AsyncClient) -> None:
    await setup_tenant(api)
    plain = (await api.post("/api/v1/tenants/acme/messages", json=body())).json()
    tagged = (
        await api.post(
            "/api/v1/tenants/acme/messages",
            json=body(channels=["eu", "vip"], headers={"x-trace": "t1"}),
        )
    ).json()
    for sent, channels, headers in (
        (plain, None, None),
        (tagged, ["eu", "vip"], {"x-trace": "t1"}),
    ):
        detail = (await api.get(f"/api/v1/tenants/acme/messages/{sent['id']}")).json()
        assert (detail["channels"], detail["headers"]) == (channels, headers)


async def test_idempotency_key_dedupes_like_event_id(api: httpx.AsyncClient) -> None:
    await setup_tenant(api)
    headers = {"Idempotency-Key": "key-123"}
    first = await api.post("/api/v1/tenants/acme/messages", json=body(), headers=headers)
    again = await api.post("/api/v1/tenants/acme/messages", json=body(), headers=headers)
    other = await api.post("/api/v1/tenants/acme/messages", json=body())
    assert (first.status_code, again.status_code, other.status_code) == (202, 200, 202)
    assert first.json()["id"] == again.json()["id"] != other.json()["id"]


async def test_same_event_id_for_another_tenant_is_a_new_message(api: httpx.AsyncClient) -> None:
    await setup_tenant(api, "a")
    await setup_tenant(api, "b")
    one = await api.post("/api/v1/tenants/a/messages", json=body(event_id="e"))
    two = await api.post("/api/v1/tenants/b/messages", json=body(event_id="e"))
    assert one.status_code == two.status_code == 202


async def test_oversized_payload_is_413(
    api: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    await setup_tenant(api)
    huge = {"event_type": "x", "payload": {"blob": "a" * (settings.max_payload_bytes + 1)}}
    reply = await api.post("/api/v1/tenants/acme/messages", json=huge)
    assert reply.status_code == 413
    assert reply.json()["code"] == "payload_too_large"
    assert await count(database, Message) == 0


async def test_schema_invalid_payload_is_422_and_writes_nothing(
    api: httpx.AsyncClient, database: Database
) -> None:
    # Given an event type whose schema requires an integer amount
    schema = {
        "type": "object",
        "properties": {"amount": {"type": "integer"}},
        "required": ["amount"],
    }
    await api.post("/api/v1/event-types", json={"name": "invoice.paid", "schema": schema})
    await setup_tenant(api)
    # When a payload without it is published
    reply = await api.post("/api/v1/tenants/acme/messages", json=body())
    # Then it is refused with the failing path, and nothing is stored
    assert reply.status_code == 422, reply.text
    assert reply.json()["fields"]
    assert await count(database, Message) == 0
    ok = await api.post(
        "/api/v1/tenants/acme/messages",
        json={"event_type": "invoice.paid", "payload": {"amount": 5}},
    )
    assert ok.status_code == 202


async def test_invalid_bodies_are_422_or_400(api: httpx.AsyncClient) -> None:
    await setup_tenant(api)
    no_type = await api.post("/api/v1/tenants/acme/messages", json={"payload": {}})
    not_object = await api.post(
        "/api/v1/tenants/acme/messages", json={"event_type": "x", "payload": [1]}
    )
    bad_header = await api.post(
        "/api/v1/tenants/acme/messages", json=body(headers={"webhook-id": "forged"})
    )
    assert (no_type.status_code, not_object.status_code, bad_header.status_code) == (422, 422, 422)
    assert "event_type" in no_type.json()["fields"]
    assert "headers" in bad_header.json()["fields"]


async def test_list_filters_and_pagination(api: httpx.AsyncClient) -> None:
    await setup_tenant(api)
    for i in range(5):
        await api.post("/api/v1/tenants/acme/messages", json=body(event_type=f"t.{i % 2}"))
    await api.post("/api/v1/tenants/acme/messages", json=body(channels=["eu"]))
    everything = (await api.get("/api/v1/tenants/acme/messages", params={"limit": 4})).json()
    assert len(everything["data"]) == 4 and not everything["done"]
    rest = (
        await api.get(
            "/api/v1/tenants/acme/messages", params={"limit": 4, "iterator": everything["iterator"]}
        )
    ).json()
    assert len(rest["data"]) == 2 and rest["done"]
    odd = (await api.get("/api/v1/tenants/acme/messages", params={"event_type": "t.1"})).json()
    assert len(odd["data"]) == 2
    eu = (await api.get("/api/v1/tenants/acme/messages", params={"channel": "eu"})).json()
    assert [m["channels"] for m in eu["data"]] == [["eu"]]


async def test_another_projects_messages_are_404(
    api: httpx.AsyncClient, client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    await setup_tenant(api)
    message = (await api.post("/api/v1/tenants/acme/messages", json=body())).json()
    other = await make_project(database, settings, "other")
    await client.post(
        "/api/v1/tenants", json={"uid": "acme", "name": "theirs"}, headers=other.headers
    )
    for path in (
        f"/api/v1/tenants/acme/messages/{message['id']}",
        f"/api/v1/tenants/acme/messages/{message['id']}/deliveries",
        f"/api/v1/tenants/acme/messages/{message['id']}/attempts",
    ):
        reply = await client.get(path, headers=other.headers)
        assert reply.status_code == 404, path
    published = await client.post(
        "/api/v1/tenants/acme/messages", json=body(), headers=other.headers
    )
    assert published.status_code == 202  # their own tenant "acme", not ours
