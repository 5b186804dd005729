"""A worker's signing-key cache (app.delivery.keycache): no key query for an unchanged
endpoint, a fresh read after a rotation, and an old key dropped when its overlap ends."""

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import event

from app.config import Settings
from app.db.base import utcnow
from app.db.models import Endpoint
from app.db.session import Database
from app.delivery.keycache import SigningKeyCache
from app.delivery.signing import SigningKey, parse_key
from app.secretbox import SecretBox
from tests.api.test_endpoint_secrets import ENDPOINTS, create, current_key


@pytest.fixture
def key_queries(database: Database) -> Iterator[list[str]]:
    """The statements that read endpoint secrets, as they run."""
    seen: list[str] = []

    def on_execute(*args: object) -> None:
        statement = str(args[2])
        if statement.lstrip().upper().startswith("SELECT") and "endpoint_secrets" in statement:
            seen.append(statement)

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    yield seen
    event.remove(engine, "before_cursor_execute", on_execute)


async def keys_now(
    cache: SigningKeyCache, database: Database, endpoint_id: str, offset_s: float = 0
) -> list[SigningKey]:
    async with database.session() as session:
        endpoint = await session.get_one(Endpoint, endpoint_id)
        keys = await cache.keys_for(session, [endpoint], utcnow() + timedelta(seconds=offset_s))
    return keys[endpoint_id]


async def test_keys_are_read_once_until_the_endpoint_changes(
    api: httpx.AsyncClient, database: Database, settings: Settings, key_queries: list[str]
) -> None:
    # Given an endpoint, a project overlap of one hour, and a worker's cache
    await api.post("/api/v1/tenants", json={"uid": "cust", "name": "Customer"})
    endpoint_id = await create(api)
    old = parse_key(await current_key(api, endpoint_id))
    await api.patch("/api/v1/project", json={"secret_overlap_seconds": 3600})
    cache = SigningKeyCache(SecretBox(str(settings.secret_key)))

    # When its keys are asked for three times, they are read once
    for _ in range(3):
        assert await keys_now(cache, database, endpoint_id) == [old]
    assert len(key_queries) == 1

    # When the secret is rotated, the next claim reads both keys, newest first
    rotated = await api.post(f"{ENDPOINTS}/{endpoint_id}/secret/rotate")
    assert rotated.status_code == 204, rotated.text
    new = parse_key(await current_key(api, endpoint_id))
    assert await keys_now(cache, database, endpoint_id) == [new, old]
    assert len(key_queries) == 2

    # And once the overlap has ended, the old key is dropped with no further read
    assert await keys_now(cache, database, endpoint_id, offset_s=3601) == [new]
    assert len(key_queries) == 2


async def test_the_cache_holds_a_bounded_number_of_endpoints(
    api: httpx.AsyncClient, database: Database, settings: Settings, key_queries: list[str]
) -> None:
    await api.post("/api/v1/tenants", json={"uid": "cust", "name": "Customer"})
    first, second = await create(api), await create(api)
    cache = SigningKeyCache(SecretBox(str(settings.secret_key)), max_endpoints=1)
    await keys_now(cache, database, first)
    await keys_now(cache, database, second)  # evicts the first
    await keys_now(cache, database, first)
    assert len(key_queries) == 3
