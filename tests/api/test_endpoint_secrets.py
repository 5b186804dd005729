"""Endpoint secrets: shown only by GET …/secret, rotated with an overlap, sealed at rest."""

import base64
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import delete, select, update

from app.config import Settings
from app.db.base import utcnow
from app.db.models import EndpointSecret
from app.db.session import Database, commit
from app.delivery.signing import SigningKey, new_key, parse_key, sign, signed_content
from app.endpoints.secrets import signing_keys
from app.secretbox import SecretBox
from tests.legacy_seal import seal_unbound

RECEIVER = "http://127.0.0.1:9/hooks"
ENDPOINTS = "/api/v1/tenants/cust/endpoints"


@pytest.fixture
async def tenant(api: httpx.AsyncClient) -> str:
    reply = await api.post("/api/v1/tenants", json={"uid": "cust", "name": "Customer"})
    assert reply.status_code == 201, reply.text
    return "cust"


async def create(api: httpx.AsyncClient, **fields: object) -> str:
    reply = await api.post(ENDPOINTS, json={"url": RECEIVER} | fields)
    assert reply.status_code == 201, reply.text
    endpoint_id: str = reply.json()["id"]
    return endpoint_id


async def current_key(api: httpx.AsyncClient, endpoint_id: str) -> str:
    reply = await api.get(f"{ENDPOINTS}/{endpoint_id}/secret")
    assert reply.status_code == 200, reply.text
    key: str = reply.json()["key"]
    return key


async def keys_in_force(
    database: Database, settings: Settings, endpoint_id: str, at_offset_s: float = 0
) -> list[SigningKey]:
    box = SecretBox(str(settings.secret_key))
    async with database.session() as session:
        keys = await signing_keys(
            session, box, [endpoint_id], utcnow() + timedelta(seconds=at_offset_s)
        )
    return keys[endpoint_id]


async def test_a_given_secret_is_kept_and_never_echoed(api: httpx.AsyncClient, tenant: str) -> None:
    # Given an endpoint created with our own secret
    secret = new_key()
    created = await api.post(ENDPOINTS, json={"url": RECEIVER, "secret": secret})
    endpoint_id = created.json()["id"]

    # When it is created, read and listed, then its secret is asked for
    read = await api.get(f"{ENDPOINTS}/{endpoint_id}")
    listed = await api.get(ENDPOINTS)
    patched = await api.patch(f"{ENDPOINTS}/{endpoint_id}", json={"description": "x"})
    shown = await api.get(f"{ENDPOINTS}/{endpoint_id}/secret")

    # Then only the secret route shows it, and it is the one given
    for reply in (created, read, listed, patched):
        assert secret not in reply.text and "whsec_" not in reply.text
        assert "secret" not in reply.text
    assert shown.json() == {"key": secret}


async def test_a_generated_secret_is_a_whsec_key(api: httpx.AsyncClient, tenant: str) -> None:
    key = await current_key(api, await create(api))
    assert parse_key(key).algorithm == "hmac-sha256" and key.startswith("whsec_")


async def test_rotation_overlaps_then_drops_the_old_key(
    api: httpx.AsyncClient, tenant: str, database: Database, settings: Settings
) -> None:
    # Given an endpoint, its key, and a project overlap of one hour
    endpoint_id = await create(api)
    old = await current_key(api, endpoint_id)
    patched = await api.patch("/api/v1/project", json={"secret_overlap_seconds": 3600})
    assert patched.status_code == 200, patched.text

    # When the secret is rotated
    rotated = await api.post(f"{ENDPOINTS}/{endpoint_id}/secret/rotate")
    assert rotated.status_code == 204, rotated.text
    new = await current_key(api, endpoint_id)

    # Then the secret route shows the new key, and both sign, newest first, in the overlap
    assert new != old and new.startswith("whsec_")
    assert await keys_in_force(database, settings, endpoint_id) == [
        parse_key(new),
        parse_key(old),
    ]
    # And only the new key after the overlap
    assert await keys_in_force(database, settings, endpoint_id, at_offset_s=3601) == [
        parse_key(new)
    ]


async def test_rotation_without_overlap_and_with_a_given_key(
    api: httpx.AsyncClient, tenant: str, database: Database, settings: Settings
) -> None:
    # Given a project with no overlap, and an endpoint rotated twice (the second to our key)
    await api.patch("/api/v1/project", json={"secret_overlap_seconds": 0})
    endpoint_id = await create(api)
    await api.post(f"{ENDPOINTS}/{endpoint_id}/secret/rotate", json={})
    ours = new_key()
    reply = await api.post(f"{ENDPOINTS}/{endpoint_id}/secret/rotate", json={"key": ours})
    assert reply.status_code == 204, reply.text

    # Then only our key is in force, and no retired key is left behind
    assert await current_key(api, endpoint_id) == ours
    assert await keys_in_force(database, settings, endpoint_id) == [parse_key(ours)]
    async with database.session() as session:
        rows = (await session.scalars(select(EndpointSecret))).all()
    assert len(rows) == 1


async def test_expired_keys_are_deleted_on_the_next_rotation(
    api: httpx.AsyncClient, tenant: str, database: Database
) -> None:
    # Given a rotated endpoint whose retired key's overlap has ended
    endpoint_id = await create(api)
    await api.post(f"{ENDPOINTS}/{endpoint_id}/secret/rotate")
    async with database.session() as session:
        await session.execute(
            update(EndpointSecret)
            .where(EndpointSecret.expires_at.is_not(None))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await commit(session)

    # When it is rotated again
    await api.post(f"{ENDPOINTS}/{endpoint_id}/secret/rotate")

    # Then the expired key is gone: the current key and the one just retired remain
    async with database.session() as session:
        rows = (await session.scalars(select(EndpointSecret))).all()
    assert sorted(row.expires_at is None for row in rows) == [False, True]


async def test_bad_rotation_key_is_422_and_changes_nothing(
    api: httpx.AsyncClient, tenant: str
) -> None:
    endpoint_id = await create(api)
    before = await current_key(api, endpoint_id)
    reply = await api.post(f"{ENDPOINTS}/{endpoint_id}/secret/rotate", json={"key": "whsec_short"})
    assert reply.status_code == 422 and set(reply.json()["fields"]) == {"key"}
    assert "whsec_short" not in reply.text
    assert await current_key(api, endpoint_id) == before


async def test_ed25519_secret_shows_its_public_key(
    api: httpx.AsyncClient, tenant: str, database: Database, settings: Settings
) -> None:
    # Given an endpoint with an ed25519 key
    endpoint_id = await create(api, secret=new_key("ed25519"))

    # When its secret is read
    shown = (await api.get(f"{ENDPOINTS}/{endpoint_id}/secret")).json()

    # Then the reply has the whsk_ key and its whpk_ public key, which verifies its signatures
    assert shown["key"].startswith("whsk_") and shown["public_key"].startswith("whpk_")
    keys = await keys_in_force(database, settings, endpoint_id)
    signature = sign("msg_1", 1700000000, b"{}", keys)
    assert signature.startswith("v1a,")
    public = Ed25519PublicKey.from_public_bytes(
        base64.b64decode(shown["public_key"][len("whpk_") :])
    )
    public.verify(
        base64.b64decode(signature[len("v1a,") :]),
        signed_content("msg_1", 1700000000, b"{}"),
    )

    # And a rotation without a key keeps the algorithm
    await api.post(f"{ENDPOINTS}/{endpoint_id}/secret/rotate")
    assert (await current_key(api, endpoint_id)).startswith("whsk_")


async def test_signing_keys_for_many_endpoints_in_one_call(
    api: httpx.AsyncClient, tenant: str, database: Database, settings: Settings
) -> None:
    first, second = await create(api), await create(api, secret=new_key("ed25519"))
    box = SecretBox(str(settings.secret_key))
    async with database.session() as session:
        keys = await signing_keys(session, box, [first, second, "ep_unknown"], utcnow())
    assert keys[first] == [parse_key(await current_key(api, first))]
    assert keys[second][0].algorithm == "ed25519"
    assert keys["ep_unknown"] == []


async def test_the_database_holds_no_plaintext_secret(
    api: httpx.AsyncClient, tenant: str, database_url: str
) -> None:
    # Given endpoints with HMAC and ed25519 secrets, one rotated
    hmac_id = await create(api, secret=new_key())
    await create(api, secret=new_key("ed25519"))
    await api.post(f"{ENDPOINTS}/{hmac_id}/secret/rotate")
    shown = await current_key(api, hmac_id)

    # Then no key, prefix or raw base64 body, is anywhere in the SQLite files (WAL included)
    path = Path(database_url.removeprefix("sqlite+aiosqlite:///"))
    stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert b"whsec_" not in stored and b"whsk_" not in stored
    assert shown.removeprefix("whsec_").encode() not in stored


async def sealed_current(database: Database, endpoint_id: str) -> EndpointSecret:
    async with database.session() as session:
        secret = await session.scalar(
            select(EndpointSecret).where(
                EndpointSecret.endpoint_id == endpoint_id, EndpointSecret.expires_at.is_(None)
            )
        )
    assert secret is not None
    return secret


async def test_a_sealed_value_copied_to_another_row_does_not_open(
    api: httpx.AsyncClient, tenant: str, database: Database
) -> None:
    # Given two endpoints, and the first one's sealed key copied over the second one's
    victim_key = new_key()
    victim, thief = await create(api, secret=victim_key), await create(api)
    stolen = (await sealed_current(database, victim)).ciphertext
    async with database.session() as session:
        await session.execute(
            update(EndpointSecret)
            .where(EndpointSecret.endpoint_id == thief)
            .values(ciphertext=stolen)
        )
        await commit(session)

    # When the second endpoint's secret is read
    reply = await api.get(f"{ENDPOINTS}/{thief}/secret")

    # Then it is a client error saying to rotate, never the first endpoint's key nor a 500
    assert reply.status_code == 409, reply.text
    assert reply.json()["code"] == "secret_unreadable"
    assert victim_key not in reply.text and "whsec_" not in reply.text
    # And a rotation sets a fresh key that reads again; the first endpoint is untouched
    assert (await api.post(f"{ENDPOINTS}/{thief}/secret/rotate")).status_code == 204
    assert (await current_key(api, thief)) not in (victim_key, "")
    assert await current_key(api, victim) == victim_key


async def test_a_sealed_row_moved_to_another_endpoint_does_not_open(
    api: httpx.AsyncClient, tenant: str, database: Database
) -> None:
    # Given the first endpoint's key row re-pointed at a second endpoint with no key left
    victim_key = new_key()
    victim, thief = await create(api, secret=victim_key), await create(api)
    moved = await sealed_current(database, victim)
    async with database.session() as session:
        await session.execute(delete(EndpointSecret).where(EndpointSecret.endpoint_id == thief))
        await session.execute(
            update(EndpointSecret).where(EndpointSecret.id == moved.id).values(endpoint_id=thief)
        )
        await commit(session)

    # When the second endpoint's secret is read, then it is refused the same way
    reply = await api.get(f"{ENDPOINTS}/{thief}/secret")
    assert reply.status_code == 409 and reply.json()["code"] == "secret_unreadable"
    assert victim_key not in reply.text


async def test_a_legacy_unbound_value_still_opens(
    api: httpx.AsyncClient, tenant: str, database: Database, settings: Settings
) -> None:
    # Given an endpoint whose key is stored in the legacy, unbound format
    key = new_key()
    endpoint_id = await create(api)
    async with database.session() as session:
        await session.execute(
            update(EndpointSecret)
            .where(EndpointSecret.endpoint_id == endpoint_id)
            .values(ciphertext=seal_unbound(str(settings.secret_key), key))
        )
        await commit(session)

    # When its secret is read, then it opens
    assert await current_key(api, endpoint_id) == key
