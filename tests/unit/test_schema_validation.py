from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from app.db.base import utcnow
from app.db.models import EventType
from app.db.session import Database
from app.errors import ValidationFailed
from app.event_types import validation
from app.event_types.validation import LruCache, validate_payload
from tests.conftest import ProjectKey

SCHEMA = {
    "type": "object",
    "properties": {
        "amount": {"type": "integer", "minimum": 0},
        "items": {"type": "array", "items": {"type": "object", "required": ["sku"]}},
    },
    "required": ["amount"],
}


async def _validate(database: Database, project: ProjectKey, name: str, payload: Any) -> None:
    async with database.session() as session:
        await validate_payload(session, project.project_id, name, payload)


async def _refused(
    database: Database, project: ProjectKey, name: str, payload: Any
) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        await _validate(database, project, name, payload)
    return caught.value


async def test_a_conforming_payload_passes(
    api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    # Given an event type with a schema
    await api.post("/api/v1/event-types", json={"name": "invoice.paid", "schema": SCHEMA})

    # When a conforming payload is checked, then nothing is raised
    await _validate(database, project, "invoice.paid", {"amount": 5, "items": [{"sku": "a"}]})


async def test_a_nonconforming_payload_is_422_with_paths(
    api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    # Given an event type with a schema
    await api.post("/api/v1/event-types", json={"name": "invoice.paid", "schema": SCHEMA})

    # When payloads break it at the root and deep inside
    missing = await _refused(database, project, "invoice.paid", {})
    deep = await _refused(
        database, project, "invoice.paid", {"amount": -1, "items": [{"sku": "a"}, {}]}
    )

    # Then each is a 422 payload_invalid naming where it failed
    assert missing.status_code == 422 and missing.code == "payload_invalid"
    assert missing.fields == {"payload": "'amount' is a required property"}
    assert deep.fields is not None
    assert set(deep.fields) == {"payload/amount", "payload/items/1"}
    assert "minimum" in deep.fields["payload/amount"]


async def test_at_most_ten_errors_are_reported(
    api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    schema = {"type": "array", "items": {"type": "integer"}}
    await api.post("/api/v1/event-types", json={"name": "many.errors", "schema": schema})
    error = await _refused(database, project, "many.errors", ["x"] * 50)
    assert error.fields is not None and len(error.fields) == validation.MAX_REPORTED_ERRORS


async def test_no_schema_and_unknown_types_accept_anything(
    api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    # Given an event type without a schema
    await api.post("/api/v1/event-types", json={"name": "free.form"})

    # Then any payload passes for it, and for an event type the catalog does not have
    await _validate(database, project, "free.form", {"anything": [1, "two"]})
    await _validate(database, project, "never.declared", {"amount": "not a number"})


async def test_another_projects_schema_does_not_apply(
    api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    await api.post("/api/v1/event-types", json={"name": "invoice.paid", "schema": SCHEMA})
    other = ProjectKey(project_id="prj_someone_else", api_key="")
    await _validate(database, other, "invoice.paid", {})


async def test_a_schema_change_takes_effect_at_once(
    api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    # Given a schema that requires amount, already compiled and cached by a publish check
    await api.post("/api/v1/event-types", json={"name": "invoice.paid", "schema": SCHEMA})
    await _refused(database, project, "invoice.paid", {"total": 3})

    # When the schema is replaced by one that requires total instead
    new_schema = {"type": "object", "required": ["total"]}
    patched = await api.patch("/api/v1/event-types/invoice.paid", json={"schema": new_schema})
    assert patched.status_code == 200, patched.text

    # Then the new schema applies at once
    await _validate(database, project, "invoice.paid", {"total": 3})
    assert (await _refused(database, project, "invoice.paid", {"amount": 3})).fields == {
        "payload": "'total' is a required property"
    }

    # And removing the schema accepts anything
    await api.patch("/api/v1/event-types/invoice.paid", json={"schema": None})
    await _validate(database, project, "invoice.paid", {"whatever": True})


async def test_a_stored_schema_that_breaks_the_rules_refuses_payloads(
    api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    # Given a schema with a reference Herald cannot resolve, stored before the rules
    # refused it on save (written straight to the database)
    created = await api.post("/api/v1/event-types", json={"name": "ref.broken"})
    assert created.status_code == 201, created.text
    async with database.session() as session:
        await session.execute(
            update(EventType)
            .where(EventType.project_id == project.project_id, EventType.name == "ref.broken")
            .values(schema={"$ref": "urn:herald:nowhere"}, updated_at=utcnow())
        )
        await session.commit()

    # When a payload is checked, then it is a 422 naming the schema, not a crash
    error = await _refused(database, project, "ref.broken", {})
    assert error.code == "schema_invalid" and error.fields == {
        "payload": "the event type's schema cannot be used"
    }
    assert "only local references" in error.detail


def test_the_validator_cache_is_a_bounded_lru() -> None:
    # Given a cache of two entries holding a and b, with a used last
    cache: LruCache[tuple[str, datetime], str] = LruCache(size=2)
    stamp = datetime(2024, 1, 1, tzinfo=UTC)
    cache.put(("a", stamp), "A")
    cache.put(("b", stamp), "B")
    assert cache.get(("a", stamp)) == "A"

    # When a third entry comes in
    cache.put(("c", stamp), "C")

    # Then the least recently used (b) is evicted
    assert len(cache) == 2
    assert cache.get(("b", stamp)) is None
    assert cache.get(("a", stamp)) == "A" and cache.get(("c", stamp)) == "C"
