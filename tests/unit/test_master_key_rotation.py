"""``herald rotate-master-key`` re-seals every endpoint secret under the new master key."""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.config import Settings
from app.db.models import EndpointSecret
from app.db.session import Database
from app.endpoints.master_key import rotate_master_key
from app.secretbox import SecretBox, SecretBoxError


async def sealed(database: Database) -> list[bytes]:
    async with database.session() as session:
        return list((await session.scalars(select(EndpointSecret.ciphertext))).all())


async def test_rotation_reseals_everything_under_the_new_key(
    api: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    # Given endpoints whose secrets are sealed under the old key, one rotated (two keys)
    await api.post("/api/v1/tenants", json={"uid": "t", "name": "T"})
    ids = []
    for _ in range(3):
        reply = await api.post("/api/v1/tenants/t/endpoints", json={"url": "http://127.0.0.1:9/"})
        ids.append(reply.json()["id"])
    await api.post(f"/api/v1/tenants/t/endpoints/{ids[0]}/secret/rotate")
    shown = {
        i: (await api.get(f"/api/v1/tenants/t/endpoints/{i}/secret")).json()["key"] for i in ids
    }
    old = SecretBox(str(settings.secret_key))
    new_settings = settings.with_changes(
        secret_key="the-new-key", old_secret_keys=(settings.secret_key,)
    )

    # When the master key is rotated (in batches of 2)
    seen, resealed = await rotate_master_key(new_settings, batch=2)

    # Then all four secrets are re-sealed, the new key alone opens them, the old none
    assert (seen, resealed) == (4, 4)
    new = SecretBox("the-new-key")
    opened = [new.open(ciphertext) for ciphertext in await sealed(database)]
    assert set(shown.values()) <= set(opened)
    for ciphertext in await sealed(database):
        with pytest.raises(SecretBoxError):
            old.open(ciphertext)
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
    env = {"HERALD_DATABASE_URL": database_url, "HERALD_SECRET_KEY": "brand-new"}

    # When the command runs with only the new key, it stops with a clear message
    refused = run_cli(env, tmp_path)
    assert refused.returncode == 1
    assert "HERALD_OLD_SECRET_KEYS" in refused.stderr

    # And with the old key given, it re-seals the secret
    done = run_cli(env | {"HERALD_OLD_SECRET_KEYS": str(settings.secret_key)}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 re-sealed" in done.stdout
