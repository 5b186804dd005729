"""A producer's JSON Schema cannot make Herald fetch URLs, hang, or stall other publishers.

Refused on save: remote references, nested ``$id``, another draft, patterns RE2 cannot
run, schemas too big or too deep. On publish: patterns match in linear time, and a schema
that is slow by construction (an exponential ``anyOf`` chain) is refused past its time
budget on a thread, while ``/healthz`` and other publishers go on being answered.
"""

import asyncio
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from app.db.base import utcnow
from app.db.models import EventType
from app.db.session import Database
from app.event_types import validation
from app.event_types.schema_rules import MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH
from tests.conftest import ProjectKey
from tests.receivers import Receiver

EVENT_TYPES = "/api/v1/event-types"
HEALTH_BOUND_S = 0.1  # what the issue asks of /healthz while a publish validates
HEALTH_POLL_S = 0.02


def answered_quickly(latencies: list[float]) -> bool:
    """/healthz kept answering within HEALTH_BOUND_S while validation ran on its thread:
    one sample may lose a GIL switch or a scheduling slice on a loaded two-core host, none
    may wait anywhere near the validation's own budget."""
    slow = [latency for latency in latencies if latency >= HEALTH_BOUND_S]
    return len(slow) <= 1 and all(latency < validation.TIME_BUDGET_S / 2 for latency in slow)


CATASTROPHIC = "^(a+)+$"
ATTACK = "a" * 40 + "!"  # Python's re takes minutes on it; RE2 microseconds


def exponential_schema(levels: int) -> dict[str, Any]:
    """``a0`` is ``anyOf [a1, a1]``, … down to a string: 2^levels branches for a number."""
    defs: dict[str, Any] = {
        f"a{i}": {"anyOf": [{"$ref": f"#/$defs/a{i + 1}"}, {"$ref": f"#/$defs/a{i + 1}"}]}
        for i in range(levels)
    }
    defs[f"a{levels}"] = {"type": "string"}
    return {"$defs": defs, "type": "object", "properties": {"n": {"$ref": "#/$defs/a0"}}}


@pytest.fixture
async def tenant(api: httpx.AsyncClient) -> str:
    reply = await api.post("/api/v1/tenants", json={"uid": "cust", "name": "Customer"})
    assert reply.status_code == 201, reply.text
    return "cust"


async def publish(api: httpx.AsyncClient, event_type: str, payload: Any) -> httpx.Response:
    return await api.post(
        "/api/v1/tenants/cust/messages", json={"event_type": event_type, "payload": payload}
    )


async def schema_refused(api: httpx.AsyncClient, schema: Any) -> str:
    """Create and PATCH with ``schema`` are both 422 on ``schema``; the message."""
    created = await api.post(EVENT_TYPES, json={"name": "refused.type", "schema": schema})
    assert created.status_code == 422, created.text
    assert (await api.post(EVENT_TYPES, json={"name": "kept.type"})).status_code in (201, 409)
    patched = await api.patch(f"{EVENT_TYPES}/kept.type", json={"schema": schema})
    assert patched.status_code == 422, patched.text
    assert (await api.get(f"{EVENT_TYPES}/kept.type")).json()["schema"] is None
    message: str = created.json()["fields"]["schema"]
    assert patched.json()["fields"]["schema"] == message
    return message


async def health_latencies(client: httpx.AsyncClient, until: "asyncio.Task[Any]") -> list[float]:
    """``/healthz`` asked every HEALTH_POLL_S until ``until`` is done: each answer's time."""
    latencies = []
    while not until.done():
        started = time.monotonic()
        reply = await client.get("/healthz")
        latencies.append(time.monotonic() - started)
        assert reply.status_code == 200
        await asyncio.sleep(HEALTH_POLL_S)
    return latencies


async def test_remote_references_are_refused_and_never_fetched(
    api: httpx.AsyncClient, database: Database, project: ProjectKey, receiver: Receiver, tenant: str
) -> None:
    # Given a snitch server that would see any fetch
    snitch = receiver.url("/schema.json")

    # When schemas reaching outside themselves are saved, then each is refused at its path
    message = await schema_refused(api, {"$ref": snitch})
    assert message.startswith("schema/$ref: only local references")
    nested = {"type": "object", "properties": {"a": {"$ref": f"{snitch}#/x"}}}
    assert (await schema_refused(api, nested)).startswith("schema/properties/a/$ref")
    embedded = {"$defs": {"x": {"$id": snitch, "type": "string"}}}
    assert (await schema_refused(api, embedded)).startswith("schema/$defs/x/$id")
    dynamic = {"$dynamicRef": "file:///etc/passwd"}
    assert (await schema_refused(api, dynamic)).startswith("schema/$dynamicRef")
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#"}
    assert (await schema_refused(api, draft7)).startswith("schema/$schema")

    # And a root $id and local references are fine
    local = {
        "$id": "https://acme.example/schemas/invoice.json",
        "$defs": {"amount": {"type": "integer"}},
        "properties": {"amount": {"$ref": "#/$defs/amount"}},
    }
    created = await api.post(EVENT_TYPES, json={"name": "local.refs", "schema": local})
    assert created.status_code == 201, created.text
    assert (await publish(api, "local.refs", {"amount": "x"})).status_code == 422
    assert (await publish(api, "local.refs", {"amount": 1})).status_code == 202

    # When such a schema was stored before the rules (written straight to the database)
    # and a payload is published for it
    async with database.session() as session:
        await session.execute(
            update(EventType)
            .where(EventType.project_id == project.project_id, EventType.name == "kept.type")
            .values(schema={"$ref": snitch}, updated_at=utcnow())
        )
        await session.commit()
    reply = await publish(api, "kept.type", {"a": 1})

    # Then the publish is refused, and the snitch was never asked for anything
    assert reply.status_code == 422 and reply.json()["code"] == "schema_invalid", reply.text
    assert receiver.requests == []


async def test_patterns_run_in_linear_time_and_backreferences_are_refused(
    api: httpx.AsyncClient, client: httpx.AsyncClient, tenant: str
) -> None:
    # Given a schema with a catastrophic pattern, as a value and as a property name
    schema = {
        "type": "object",
        "properties": {"s": {"type": "string", "pattern": CATASTROPHIC}},
        "patternProperties": {CATASTROPHIC: {"type": "integer"}},
        "additionalProperties": {"type": "string"},
    }
    created = await api.post(EVENT_TYPES, json={"name": "redos.type", "schema": schema})
    assert created.status_code == 201, created.text

    # When payloads made to backtrack are published, with /healthz asked meanwhile
    started = time.monotonic()
    reply_task = asyncio.create_task(publish(api, "redos.type", {"s": ATTACK, ATTACK: 1}))
    latencies = await health_latencies(client, reply_task)
    reply = await reply_task

    # Then the publish is refused for what the payload is, at once, and /healthz answered
    assert reply.status_code == 422 and reply.json()["code"] == "payload_invalid", reply.text
    # (the key does not match either, so additionalProperties wants a string for it)
    assert set(reply.json()["fields"]) == {"payload/s", f"payload/{ATTACK}"}
    assert time.monotonic() - started < validation.TIME_BUDGET_S
    assert answered_quickly(latencies), latencies
    assert (await publish(api, "redos.type", {"s": "aaa", "aa": 2, "b": "c"})).status_code == 202

    # And a pattern RE2 cannot run in linear time is refused on save, at its path
    lookaround = {"properties": {"s": {"pattern": "(?=a)b"}}}
    assert (await schema_refused(api, lookaround)).startswith("schema/properties/s/pattern")
    backreference = {"patternProperties": {"(a)\\1": {}}}
    assert (await schema_refused(api, backreference)).startswith("schema/patternProperties/")


async def test_an_exponential_schema_is_refused_past_its_budget_and_stalls_no_one(
    api: httpx.AsyncClient, client: httpx.AsyncClient, tenant: str
) -> None:
    # Given an event type whose schema has 2^40 branches for a number, and one without
    schema = exponential_schema(40)
    created = await api.post(EVENT_TYPES, json={"name": "slow.type", "schema": schema})
    assert created.status_code == 201, created.text
    assert (await api.post(EVENT_TYPES, json={"name": "free.type"})).status_code == 201

    # When a payload that explores them is published, with /healthz asked meanwhile and
    # another publish made once the slow one is under way
    slow = asyncio.create_task(publish(api, "slow.type", {"n": 1}))
    await asyncio.sleep(HEALTH_POLL_S)
    other = asyncio.create_task(publish(api, "free.type", {"n": 1}))
    latencies = await health_latencies(client, slow)
    reply = await slow

    # Then it is refused as too expensive, the other publish was answered before it, and
    # /healthz stayed quick
    assert reply.status_code == 422, reply.text
    assert reply.json()["code"] == "schema_too_expensive"
    assert other.done() and (await other).status_code == 202
    assert len(latencies) >= 3 and answered_quickly(latencies), latencies

    # And a payload that takes one branch is accepted
    assert (await publish(api, "slow.type", {"n": "one"})).status_code == 202


async def test_schemas_too_big_or_too_deep_are_refused(api: httpx.AsyncClient) -> None:
    big = {"description": "x" * MAX_SCHEMA_BYTES}
    assert "the limit is" in await schema_refused(api, big)
    deep: dict[str, Any] = {}
    level = deep
    for _ in range(MAX_SCHEMA_DEPTH + 1):
        level["items"] = {}
        level = level["items"]
    assert "nests deeper than" in await schema_refused(api, deep)
