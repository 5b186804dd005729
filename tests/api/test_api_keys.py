"""API keys through the API: mint (shown once), list, scopes, expiry, revoke, rotate."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from app import auth
from app.config import Settings
from app.db.models import ApiKey
from app.db.session import Database
from tests.conftest import ProjectKey, make_project

KEYS = "/api/v1/api-keys"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def mint(api: httpx.AsyncClient, **fields: object) -> dict[str, object]:
    reply = await api.post(KEYS, json={"name": "ci"} | fields)
    assert reply.status_code == 201, reply.text
    body: dict[str, object] = reply.json()
    return body


async def settled() -> None:
    """Past the next look of ``app.auth.KeyChanges`` (what every api process does)."""
    await asyncio.sleep(auth.CHECK_EVERY_S * 2)


async def test_a_key_is_shown_once_and_stored_hashed(
    api: httpx.AsyncClient, client: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    # When a key is minted
    created = await mint(api, name="deploy bot", scopes=["publish"])

    # Then the reply has the key, with its prefix, and the stored row only its digest
    key = str(created["key"])
    assert key.startswith("hk_") and created["prefix"] == key[:8]
    assert created["scopes"] == ["publish"] and created["name"] == "deploy bot"
    assert str(created["id"]).startswith("key_") and created["expires_at"] is None
    async with database.session() as session:
        row = await session.scalar(select(ApiKey).where(ApiKey.id == created["id"]))
    assert row is not None and row.key_digest == auth.key_digest(key)
    assert key.encode() not in repr(row.__dict__).encode()

    # And reads never show it again
    listed = (await api.get(KEYS)).json()["data"]
    assert {k["id"] for k in listed} >= {created["id"]}
    assert all("key" not in k for k in listed)
    got = (await api.get(f"{KEYS}/{created['id']}")).json()
    assert "key" not in got and got["prefix"] == key[:8]

    # And the key works at once, within its scope
    used = await client.get("/api/v1/tenants/nobody/messages", headers=bearer(key))
    assert used.status_code == 404, used.text


async def test_scopes_are_enforced(api: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    # Given a tenant, and a read key and a publish key
    assert (await api.post("/api/v1/tenants", json={"uid": "cust", "name": "C"})).is_success
    read = str((await mint(api, scopes=["read"]))["key"])
    publish = str((await mint(api, scopes=["publish"]))["key"])
    message = {"event_type": "a.b", "payload": {}}

    # Then the publish key publishes and reads messages, and nothing else
    published = await client.post(
        "/api/v1/tenants/cust/messages", json=message, headers=bearer(publish)
    )
    assert published.status_code == 202, published.text
    listed = await client.get("/api/v1/tenants/cust/messages", headers=bearer(publish))
    assert listed.status_code == 200
    refused = await client.get("/api/v1/tenants", headers=bearer(publish))
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"

    # And the read key reads but may not publish, write, reveal secrets or manage keys
    assert (await client.get("/api/v1/tenants", headers=bearer(read))).status_code == 200
    for method, path in [
        ("POST", "/api/v1/tenants/cust/messages"),
        ("POST", "/api/v1/tenants"),
        ("GET", "/api/v1/tenants/cust/endpoints/ep_x/secret"),
        ("GET", KEYS),
    ]:
        reply = await client.request(method, path, json={}, headers=bearer(read))
        assert reply.status_code == 403, (method, path, reply.text)


async def test_expired_and_revoked_keys_are_401(
    api: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    # Given a key that expires in a second and one that is revoked after use
    soon = datetime.now(UTC) + timedelta(seconds=1)
    expiring = await mint(api, expires_at=soon.isoformat())
    revoked = await mint(api)
    assert (await client.get("/api/v1/tenants", headers=bearer(str(expiring["key"])))).is_success
    assert (await client.get("/api/v1/tenants", headers=bearer(str(revoked["key"])))).is_success
    assert (await api.delete(f"{KEYS}/{revoked['id']}")).status_code == 204
    await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.05)
    await settled()

    # Then each is refused with 401 saying why
    expired_reply = await client.get("/api/v1/tenants", headers=bearer(str(expiring["key"])))
    revoked_reply = await client.get("/api/v1/tenants", headers=bearer(str(revoked["key"])))
    assert (expired_reply.status_code, expired_reply.json()["code"]) == (401, "key_expired")
    assert (revoked_reply.status_code, revoked_reply.json()["code"]) == (401, "key_revoked")
    assert (await api.get(f"{KEYS}/{revoked['id']}")).json()["revoked_at"] is not None

    # And an expiry in the past, an unknown scope or an empty name are 422
    for fields in (
        {"expires_at": "2020-01-01T00:00:00Z"},
        {"scopes": ["root"]},
        {"scopes": []},
        {"name": ""},
    ):
        reply = await api.post(KEYS, json={"name": "x"} | fields)
        assert reply.status_code == 422, (fields, reply.text)


async def test_rotation_keeps_the_old_key_for_the_overlap_only(
    api: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    # Given two keys rotated, one with a 1 s overlap and one without
    overlapped, immediate = await mint(api, scopes=["read"]), await mint(api, scopes=["read"])
    new_overlapped = await api.post(f"{KEYS}/{overlapped['id']}/rotate", json={"overlap_s": 1})
    new_immediate = await api.post(f"{KEYS}/{immediate['id']}/rotate")
    assert new_overlapped.status_code == 201 and new_immediate.status_code == 201
    await settled()

    # Then the new keys have the old names and scopes and work
    for new in (new_overlapped.json(), new_immediate.json()):
        assert new["scopes"] == ["read"] and new["name"] == "ci" and new["key"]
        assert (await client.get("/api/v1/tenants", headers=bearer(new["key"]))).is_success

    # And the old key without overlap is refused at once, the other until its overlap ends
    old_immediate = await client.get("/api/v1/tenants", headers=bearer(str(immediate["key"])))
    assert old_immediate.status_code == 401
    old_overlapped = bearer(str(overlapped["key"]))
    assert (await client.get("/api/v1/tenants", headers=old_overlapped)).is_success
    await asyncio.sleep(1.1)
    assert (await client.get("/api/v1/tenants", headers=old_overlapped)).status_code == 401

    # And a key that ended cannot be rotated, nor an overlap beyond a week asked
    again = await api.post(f"{KEYS}/{immediate['id']}/rotate")
    assert again.status_code == 409 and again.json()["code"] == "key_ended"
    too_long = await api.post(f"{KEYS}/{overlapped['id']}/rotate", json={"overlap_s": 604_801})
    assert too_long.status_code == 422


async def test_the_last_admin_key_cannot_be_revoked(
    api: httpx.AsyncClient, client: httpx.AsyncClient, project: ProjectKey
) -> None:
    # Given the project's first key, its only admin one
    [first] = [k for k in (await api.get(KEYS)).json()["data"] if "admin" in k["scopes"]]

    # When it is revoked, then it is a 409 and the key still works
    refused = await api.delete(f"{KEYS}/{first['id']}")
    assert refused.status_code == 409 and refused.json()["code"] == "last_admin_key"

    # And once another admin key exists it can be revoked, with the new key
    second = await mint(api, name="admin two")
    revoked = await client.delete(f"{KEYS}/{first['id']}", headers=bearer(str(second["key"])))
    assert revoked.status_code == 204
    await settled()
    assert (await client.get(KEYS, headers=project.headers)).status_code == 401


async def test_last_use_is_recorded_once_a_minute_at_most(
    api: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    # Given a fresh key used several times
    created = await mint(api, scopes=["read"])
    assert created["last_used_at"] is None
    for _ in range(3):
        assert (await client.get("/api/v1/tenants", headers=bearer(str(created["key"])))).is_success

    # Then its last use shows, written once (in the background)
    for _ in range(50):
        got = (await api.get(f"{KEYS}/{created['id']}")).json()
        if got["last_used_at"] is not None:
            break
        await asyncio.sleep(0.05)
    assert got["last_used_at"] is not None


async def test_another_projects_keys_are_not_found(
    api: httpx.AsyncClient, client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # Given a key of another project
    other = await make_project(database, settings, "other")
    theirs = await client.post(KEYS, json={"name": "theirs"}, headers=other.headers)
    assert theirs.status_code == 201

    # Then this project can neither see nor revoke it
    key_id = theirs.json()["id"]
    assert (await api.get(f"{KEYS}/{key_id}")).status_code == 404
    assert (await api.delete(f"{KEYS}/{key_id}")).status_code == 404
    assert key_id not in {k["id"] for k in (await api.get(KEYS)).json()["data"]}
