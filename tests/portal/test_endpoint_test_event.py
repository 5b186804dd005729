"""POST /api/v1/tenants/{tenant}/endpoints/{endpoint}/test: a sample to one endpoint."""

import json

import httpx
import pytest

from app.config import Settings
from app.db.session import Database
from app.outbox import Sender
from tests.conftest import make_project
from tests.portal.portal_fixtures import make_endpoint, make_tenant
from tests.receivers import Receiver
from workers.stack import WorkerStack

INVOICE_SCHEMA = {
    "type": "object",
    "required": ["invoice", "amount"],
    "properties": {
        "invoice": {"type": "string", "examples": ["in_123"]},
        "amount": {"type": "integer", "minimum": 1},
        "paid_at": {"type": "string", "format": "date-time"},
    },
}


async def deliveries(api: httpx.AsyncClient, message_id: str) -> list[dict[str, object]]:
    reply = await api.get(f"/api/v1/tenants/acme/messages/{message_id}/deliveries")
    data: list[dict[str, object]] = reply.json()["data"]
    return data


async def test_generic_test_event_goes_to_that_endpoint_only(api: httpx.AsyncClient) -> None:
    # Given two endpoints that both take every event, one filtered to another type
    await make_tenant(api, "acme")
    target = await make_endpoint(api, "acme", "https://example.com/a", event_types=["x.y"])
    await make_endpoint(api, "acme", "https://example.com/b")

    # When a test event is sent to the filtered one
    reply = await api.post(f"/api/v1/tenants/acme/endpoints/{target}/test")

    # Then a herald.test message with exactly one delivery, to it, is accepted
    assert reply.status_code == 202, reply.text
    message = reply.json()
    assert message["event_type"] == "herald.test"
    rows = await deliveries(api, message["id"])
    assert [row["endpoint_id"] for row in rows] == [target]
    detail = await api.get(f"/api/v1/tenants/acme/messages/{message['id']}")
    assert detail.json()["payload"]["type"] == "herald.test"


async def test_event_type_sample_is_its_schema_example(api: httpx.AsyncClient) -> None:
    # Given an event type with a schema, and an endpoint
    await api.post("/api/v1/event-types", json={"name": "invoice.paid", "schema": INVOICE_SCHEMA})
    await make_tenant(api, "acme")
    endpoint = await make_endpoint(api, "acme", "https://example.com/a")

    # When a test event of that type is sent
    reply = await api.post(
        f"/api/v1/tenants/acme/endpoints/{endpoint}/test", json={"event_type": "invoice.paid"}
    )

    # Then its payload is the schema's example, valid against the schema
    assert reply.status_code == 202, reply.text
    detail = await api.get(f"/api/v1/tenants/acme/messages/{reply.json()['id']}")
    assert detail.json()["payload"] == {
        "invoice": "in_123",
        "amount": 1,
        "paid_at": "2026-01-01T12:00:00Z",
    }


async def test_unknown_event_type_disabled_endpoint_and_other_project(
    api: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # Given a tenant with a disabled endpoint, and another project
    await make_tenant(api, "acme")
    endpoint = await make_endpoint(api, "acme", "https://example.com/a")
    other = await make_project(database, settings, "other")

    # When a test is asked for an unknown type, then for a disabled endpoint, then by
    # another project's key
    unknown = await api.post(
        f"/api/v1/tenants/acme/endpoints/{endpoint}/test", json={"event_type": "nope"}
    )
    await api.patch(f"/api/v1/tenants/acme/endpoints/{endpoint}", json={"disabled": True})
    disabled = await api.post(f"/api/v1/tenants/acme/endpoints/{endpoint}/test")
    foreign = await api.post(
        f"/api/v1/tenants/acme/endpoints/{endpoint}/test", headers=other.headers
    )

    # Then: 404, 409, 404
    assert unknown.status_code == 404
    assert disabled.status_code == 409
    assert disabled.json()["code"] == "endpoint_disabled"
    assert foreign.status_code == 404


@pytest.fixture
def job_sender(worker_stack: WorkerStack) -> Sender:
    return worker_stack.sender


async def test_test_event_is_delivered_signed(api: httpx.AsyncClient, receiver: Receiver) -> None:
    # Given an endpoint on a real receiver
    await make_tenant(api, "acme")
    endpoint = await make_endpoint(api, "acme", receiver.url("/hook"))

    # When a test event is sent
    reply = await api.post(f"/api/v1/tenants/acme/endpoints/{endpoint}/test")

    # Then the receiver gets it once, with the message id and a signature
    (request,) = await receiver.wait_for_async(1, timeout_s=10)
    assert request.headers["webhook-id"] == reply.json()["id"]
    assert request.headers["webhook-signature"].startswith("v1,")
    assert json.loads(request.body)["type"] == "herald.test"
