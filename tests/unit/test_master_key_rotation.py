"""``herald rotate-master-key`` re-seals every endpoint secret under the new master key,
bound to its row (legacy unbound values included)."""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from app.config import Settings
from app.db.models import EndpointSecret
from app.db.session import Database, commit
from app.delivery.signing import new_key
from app.endpoints.master_key import rotate_master_key
from app.endpoints.secrets import sealed_at
from app.secretbox import SealedAt, SecretBox, SecretBoxError
from tests.legacy_seal import seal_unbound

NEW_KEY = "913862d5c514711e5f69185292a67fb33b55752aae9dcf3bc92142587ee955ec"


async def sealed(database: Database) -> list[tuple[bytes, SealedAt]]:
    """Each stored ciphertext with the place it is bound to."""
    async with database.session() as session:
        rows = (await session.scalars(select(EndpointSecret))).all()
    return [(row.ciphertext, sealed_at(row.id, row.endpoint_id)) for row in rows]


async def new_endpoints(api: httpx.AsyncClient, count: int) -> list[str]:
    """``count`` endpoints of a new tenant ``t``, each with a generated secret."""
    await api.post("/api/v1/tenants", json={"uid": "t", "name": "T"})
    ids = []
    for _ in range(count):
        reply = await api.post("/api/v1/tenants/t/endpoints", json={"url": "http://127.0.0.1:9/"})
        ids.append(reply.json()["id"])
    return ids


async def test_rotation_reseals_everything_under_the_new_key(
    api: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    # Given endpoints whose secrets are sealed under the old key, one rotated (two keys)
    ids = await new_endpoints(api, 3)
    await api.post(f"/api/v1/tenants/t/endpoints/{ids[0]}/secret/rotate")
    shown = {
        i: (await api.get(f"/api/v1/tenants/t/endpoints/{i}/secret")).json()["key"] for i in ids
    }
    old = SecretBox(str(settings.secret_key))
    new_settings = settings.with_changes(secret_key=NEW_KEY, old_secret_keys=(settings.secret_key,))

    # When the master key is rotated (in batches of 2)
    seen, resealed = await rotate_master_key(new_settings, batch=2)

    # Then all four secrets are re-sealed, the new key alone opens them, the old none
    assert (seen, resealed) == (4, 4)
    new = SecretBox(NEW_KEY)
    opened = [new.open(ciphertext, place) for ciphertext, place in await sealed(database)]
    assert set(shown.values()) <= set(opened)
    for ciphertext, place in await sealed(database):
        with pytest.raises(SecretBoxError):
            old.open(ciphertext, place)
    # And running it again changes nothing
    assert await rotate_master_key(new_settings) == (4, 0)


def run_cli(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "rotate-master-key"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


async def test_cli_needs_the_old_key_then_reseals(
    api: httpx.AsyncClient, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    # Given one endpoint secret sealed under the current key
    await api.post("/api/v1/tenants", json={"uid": "t", "name": "T"})
    await api.post("/api/v1/tenants/t/endpoints", json={"url": "http://127.0.0.1:9/"})
    env = {"HERALD_DATABASE_URL": database_url, "HERALD_SECRET_KEY": NEW_KEY}

    # When the command runs with only the new key, it stops with a clear message
    refused = run_cli(env, tmp_path)
    assert refused.returncode == 1
    assert "HERALD_OLD_SECRET_KEYS" in refused.stderr

    # And with the old key given, it re-seals the secret
    done = run_cli(env | {"HERALD_OLD_SECRET_KEYS": str(settings.secret_key)}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 re-sealed" in done.stdout


async def test_rotation_binds_legacy_unbound_values_to_their_rows(
    api: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    # Given two endpoint secrets stored in the legacy unbound format, under the current key
    ids = await new_endpoints(api, 2)
    keys = {}
    async with database.session() as session:
        for endpoint_id in ids:
            keys[endpoint_id] = new_key()
            await session.execute(
                update(EndpointSecret)
                .where(EndpointSecret.endpoint_id == endpoint_id)
                .values(ciphertext=seal_unbound(str(settings.secret_key), keys[endpoint_id]))
            )
        await commit(session)
    legacy = [ciphertext for ciphertext, _ in await sealed(database)]

    # When the master key is "rotated" to itself (no old key needed)
    assert await rotate_master_key(settings, batch=1) == (2, 2)

    # Then each value is re-sealed bound: it opens at its own row and at no other
    box = SecretBox(str(settings.secret_key))
    stored = await sealed(database)
    assert {box.open(ciphertext, place) for ciphertext, place in stored} == set(keys.values())
    assert all(box.is_current(ciphertext) for ciphertext, _ in stored)
    (first, first_place), (second, second_place) = stored
    for ciphertext, elsewhere in ((first, second_place), (second, first_place)):
        with pytest.raises(SecretBoxError):
            box.open(ciphertext, elsewhere)
    assert not set(legacy) & {ciphertext for ciphertext, _ in stored}
    # And the secrets read the same through the API
    for endpoint_id in ids:
        shown = await api.get(f"/api/v1/tenants/t/endpoints/{endpoint_id}/secret")
        assert shown.json()["key"] == keys[endpoint_id]
