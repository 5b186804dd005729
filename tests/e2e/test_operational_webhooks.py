"""Operational webhooks: the producer hears when its tenants' webhooks go wrong."""

import asyncio
import json
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from app.config import Settings
from app.db.session import Database
from app.outbox import Sender
from tests.conftest import make_project, wait_until
from tests.receivers import Receiver, Reply
from workers.stack import WorkerStack


@pytest.fixture
def job_sender(worker_stack: WorkerStack) -> Sender:
    return worker_stack.sender


async def operational_endpoint(api: httpx.AsyncClient, url: str) -> Webhook:
    created = await api.post("/api/v1/operational-endpoints", json={"url": url})
    assert created.status_code == 201, created.text
    secret = await api.get(f"/api/v1/operational-endpoints/{created.json()['id']}/secret")
    return Webhook(secret.json()["key"])


def events(receiver: Receiver, verifier: Webhook) -> list[dict[str, Any]]:
    return [
        verifier.verify(request.body, dict(request.headers))
        for request in receiver.requests_to("/ops")
    ]


async def test_disabled_failing_exhausted_and_enabled_are_announced(
    api: httpx.AsyncClient, receiver: Receiver, scheduler: None
) -> None:
    # Given an operational endpoint and a project that calls a delivery failing at attempt 2
    verifier = await operational_endpoint(api, receiver.url("/ops"))
    await api.patch("/api/v1/project", json={"failing_after_attempts": 2})
    await api.post("/api/v1/tenants", json={"uid": "acme", "name": "Acme"})
    receiver.script("/gone", Reply(410))  # once: the resend after re-enabling succeeds
    receiver.script("/down", then=Reply(500))
    gone = (
        await api.post("/api/v1/tenants/acme/endpoints", json={"url": receiver.url("/gone")})
    ).json()
    down = (
        await api.post("/api/v1/tenants/acme/endpoints", json={"url": receiver.url("/down")})
    ).json()

    # When a message goes to both
    message = (
        await api.post("/api/v1/tenants/acme/messages", json={"event_type": "a.b", "payload": {}})
    ).json()

    # Then the producer hears, signed: the 410 endpoint disabled, the other failing, then exhausted
    async def announced() -> bool:
        types = [event["type"] for event in events(receiver, verifier)]
        return {"endpoint.disabled", "message.attempt.failing", "message.attempt.exhausted"} <= set(
            types
        )

    await wait_until(announced, timeout_s=15)
    by_type = {event["type"]: event["data"] for event in events(receiver, verifier)}
    assert by_type["endpoint.disabled"]["endpoint_id"] == gone["id"]
    assert "410" in by_type["endpoint.disabled"]["reason"]
    exhausted = by_type["message.attempt.exhausted"]
    assert (exhausted["endpoint_id"], exhausted["message_id"]) == (down["id"], message["id"])
    assert exhausted["tenant_uid"] == "acme"
    assert exhausted["last_attempt"]["response_status_code"] == 500

    # And re-enabling the endpoint is announced too
    await api.patch(f"/api/v1/tenants/acme/endpoints/{gone['id']}", json={"disabled": False})

    async def enabled() -> bool:
        return any(event["type"] == "endpoint.enabled" for event in events(receiver, verifier))

    await wait_until(enabled)
    # And the pending delivery is sent again, without a second disabling
    await receiver.wait_for_async(2, timeout_s=10, path="/gone")
    await asyncio.sleep(1)  # what its recording would announce has been sent by now
    assert len([e for e in events(receiver, verifier) if e["type"] == "endpoint.disabled"]) == 1


async def test_operational_tenant_is_hidden_and_endpoints_are_isolated(
    api: httpx.AsyncClient, client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # Given a project with an operational endpoint
    created = await api.post(
        "/api/v1/operational-endpoints", json={"url": "http://127.0.0.1:9/ops"}
    )
    assert created.status_code == 201
    endpoint_id = created.json()["id"]
    # Then its hidden tenant is in no list and cannot be addressed
    tenants = (await api.get("/api/v1/tenants")).json()["data"]
    assert tenants == []
    assert (await api.get("/api/v1/tenants/$operational")).status_code == 404
    listed = (await api.get("/api/v1/operational-endpoints")).json()["data"]
    assert [e["id"] for e in listed] == [endpoint_id]
    # And another project sees none of it
    other = await make_project(database, settings, "other")
    for method, path in (
        ("GET", f"/api/v1/operational-endpoints/{endpoint_id}"),
        ("GET", f"/api/v1/operational-endpoints/{endpoint_id}/secret"),
        ("PATCH", f"/api/v1/operational-endpoints/{endpoint_id}"),
        ("DELETE", f"/api/v1/operational-endpoints/{endpoint_id}"),
    ):
        reply = await client.request(
            method, path, headers=other.headers, json={} if method == "PATCH" else None
        )
        assert reply.status_code == 404, (method, path, reply.text)
    assert (await client.get("/api/v1/operational-endpoints", headers=other.headers)).json()[
        "data"
    ] == []


async def test_only_operational_event_types_may_be_filtered(api: httpx.AsyncClient) -> None:
    reply = await api.post(
        "/api/v1/operational-endpoints",
        json={"url": "http://127.0.0.1:9/ops", "event_types": ["invoice.paid"]},
    )
    assert reply.status_code == 422
    assert "event_types" in reply.json()["fields"]
    ok = await api.post(
        "/api/v1/operational-endpoints",
        json={"url": "http://127.0.0.1:9/ops", "event_types": ["endpoint.disabled"]},
    )
    assert ok.status_code == 201
    assert json.loads(ok.text)["event_types"] == ["endpoint.disabled"]
