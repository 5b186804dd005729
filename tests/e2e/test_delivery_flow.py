"""End to end in one process: API → database → in-process broker → worker → receiver."""

from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from app.outbox import Sender
from tests.conftest import wait_until
from tests.receivers import Hang, Receiver, Reply
from workers.stack import WorkerStack


@pytest.fixture
def job_sender(worker_stack: WorkerStack) -> Sender:
    return worker_stack.sender


async def make_endpoint(
    api: httpx.AsyncClient, tenant: str, url: str, **fields: Any
) -> dict[str, Any]:
    reply = await api.post(f"/api/v1/tenants/{tenant}/endpoints", json={"url": url, **fields})
    assert reply.status_code == 201, reply.text
    endpoint: dict[str, Any] = reply.json()
    return endpoint


async def secret_of(api: httpx.AsyncClient, tenant: str, endpoint_id: str) -> str:
    reply = await api.get(f"/api/v1/tenants/{tenant}/endpoints/{endpoint_id}/secret")
    key: str = reply.json()["key"]
    return key


async def publish(
    api: httpx.AsyncClient, tenant: str, event_type: str = "invoice.paid", **extra: Any
) -> dict[str, Any]:
    reply = await api.post(
        f"/api/v1/tenants/{tenant}/messages",
        json={"event_type": event_type, "payload": {"invoice": "in_1", "amount": 42}, **extra},
    )
    assert reply.status_code == 202, reply.text
    message: dict[str, Any] = reply.json()
    return message


async def deliveries(api: httpx.AsyncClient, tenant: str, message_id: str) -> list[dict[str, Any]]:
    reply = await api.get(f"/api/v1/tenants/{tenant}/messages/{message_id}/deliveries")
    data: list[dict[str, Any]] = reply.json()["data"]
    return data


async def attempts(api: httpx.AsyncClient, tenant: str, message_id: str) -> list[dict[str, Any]]:
    reply = await api.get(f"/api/v1/tenants/{tenant}/messages/{message_id}/attempts")
    data: list[dict[str, Any]] = reply.json()["data"]
    return data


async def test_fan_out_delivers_signed_requests_to_matching_endpoints(
    api: httpx.AsyncClient, receiver: Receiver, scheduler: None
) -> None:
    # Given a tenant with three endpoints, one filtered to another event type
    await api.post("/api/v1/tenants", json={"uid": "acme", "name": "Acme"})
    first = await make_endpoint(api, "acme", receiver.url("/a"))
    second = await make_endpoint(api, "acme", receiver.url("/b"), event_types=["invoice.paid"])
    await make_endpoint(api, "acme", receiver.url("/c"), event_types=["user.created"])

    # When an invoice.paid event is published
    message = await publish(api, "acme")

    # Then exactly the two matching endpoints receive it, signed
    received = await receiver.wait_for_async(2, timeout_s=10)
    assert sorted(r.path for r in received) == ["/a", "/b"]
    secrets = {
        "/a": await secret_of(api, "acme", first["id"]),
        "/b": await secret_of(api, "acme", second["id"]),
    }
    for request in received:
        assert request.headers["webhook-id"] == message["id"]
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"].startswith("Herald/")
        payload = Webhook(secrets[request.path]).verify(request.body, dict(request.headers))
        assert payload == {"invoice": "in_1", "amount": 42}

    # And both deliveries are recorded as succeeded
    async def all_succeeded() -> bool:
        rows = await deliveries(api, "acme", message["id"])
        return len(rows) == 2 and all(row["status"] == "succeeded" for row in rows)

    await wait_until(all_succeeded)
    assert receiver.requests_to("/c") == []


async def test_flaky_receiver_is_delivered_on_the_third_attempt(
    api: httpx.AsyncClient, receiver: Receiver, scheduler: None
) -> None:
    # Given a receiver failing twice, then answering 200
    receiver.script("/flaky", Reply(500), Reply(502), then=Reply(200))
    await api.post("/api/v1/tenants", json={"uid": "t1", "name": "T1"})
    await make_endpoint(api, "t1", receiver.url("/flaky"))

    # When a message is published
    message = await publish(api, "t1")

    # Then it lands on attempt 3, and every attempt is logged with the same body bytes
    received = await receiver.wait_for_async(3, timeout_s=15, path="/flaky")
    assert len({r.body for r in received}) == 1
    assert len({r.headers["webhook-id"] for r in received}) == 1

    async def succeeded() -> bool:
        rows = await deliveries(api, "t1", message["id"])
        return rows[0]["status"] == "succeeded" and rows[0]["attempt_count"] == 3

    await wait_until(succeeded)
    logged = await attempts(api, "t1", message["id"])
    assert [a["status"] for a in reversed(logged)] == ["failed", "failed", "succeeded"]
    assert [a["response_status_code"] for a in reversed(logged)] == [500, 502, 200]


async def test_receiver_failing_forever_ends_exhausted(
    api: httpx.AsyncClient, receiver: Receiver, scheduler: None
) -> None:
    # Given a receiver that always answers 500 and a 4-attempt schedule (tests' settings)
    receiver.script("/down", then=Reply(500, b"boom"))
    await api.post("/api/v1/tenants", json={"uid": "t2", "name": "T2"})
    await make_endpoint(api, "t2", receiver.url("/down"))

    # When a message is published
    message = await publish(api, "t2")

    # Then it is exhausted after the last attempt, each one recorded
    async def exhausted() -> bool:
        rows = await deliveries(api, "t2", message["id"])
        return rows[0]["status"] == "exhausted"

    await wait_until(exhausted, timeout_s=20)
    logged = await attempts(api, "t2", message["id"])
    assert len(logged) == 4
    assert all(a["error_kind"] == "http_status" and a["response_body"] == "boom" for a in logged)
    assert len(receiver.requests_to("/down")) == 4


async def test_410_gone_disables_the_endpoint(
    api: httpx.AsyncClient, receiver: Receiver, scheduler: None
) -> None:
    receiver.script("/gone", then=Reply(410))
    await api.post("/api/v1/tenants", json={"uid": "t3", "name": "T3"})
    endpoint = await make_endpoint(api, "t3", receiver.url("/gone"))

    await publish(api, "t3")

    async def disabled() -> bool:
        reply = await api.get(f"/api/v1/tenants/t3/endpoints/{endpoint['id']}")
        return bool(reply.json()["disabled"])

    await wait_until(disabled)
    await publish(api, "t3")
    assert len(receiver.requests_to("/gone")) == 1


async def test_hanging_receiver_times_out(
    api: httpx.AsyncClient, receiver: Receiver, scheduler: None
) -> None:
    receiver.script("/hang", then=Hang(30))
    await api.post("/api/v1/tenants", json={"uid": "t4", "name": "T4"})
    await make_endpoint(api, "t4", receiver.url("/hang"))

    message = await publish(api, "t4")

    async def timed_out() -> bool:
        return any(a["error_kind"] == "timeout" for a in await attempts(api, "t4", message["id"]))

    await wait_until(timed_out, timeout_s=15)


async def test_resend_makes_one_more_attempt(
    api: httpx.AsyncClient, receiver: Receiver, scheduler: None
) -> None:
    await api.post("/api/v1/tenants", json={"uid": "t5", "name": "T5"})
    endpoint = await make_endpoint(api, "t5", receiver.url("/ok"))
    message = await publish(api, "t5")
    await receiver.wait_for_async(1, path="/ok")

    reply = await api.post(
        f"/api/v1/tenants/t5/messages/{message['id']}/endpoints/{endpoint['id']}/resend"
    )
    assert reply.status_code == 202, reply.text

    await receiver.wait_for_async(2, path="/ok")

    async def manual_logged() -> bool:
        return [a["trigger"] for a in await attempts(api, "t5", message["id"])] == [
            "manual",
            "scheduled",
        ]

    await wait_until(manual_logged)
