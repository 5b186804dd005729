"""A key revoked through one api process is refused by another within a second, whether
revoked through the API or with ``herald key revoke``; ``herald key create`` mints keys
with scopes that both processes honour."""

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.services import PostgresServer, RedisServer, free_port
from tests.stack import HeraldStack

pytestmark = [pytest.mark.services, pytest.mark.slow]

REVOKED_WITHIN_S = 1.0  # the contract's bound
POLL_S = 0.02


def refused_after(url: str, key: str, since: float) -> float:
    """Ask ``url`` with ``key`` until it is refused (401); seconds from ``since``."""
    headers = {"Authorization": f"Bearer {key}"}
    deadline = since + 10 * REVOKED_WITHIN_S
    while (status := httpx.get(url, headers=headers, timeout=5).status_code) != 401:
        assert status == 200, status
        assert time.monotonic() < deadline, "the key was never refused"
        time.sleep(POLL_S)
    return time.monotonic() - since


def test_a_revoked_key_is_refused_by_every_api_process_within_a_second(
    postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    stack = HeraldStack(postgres_server, redis_server, tmp_path, workers=0, schedulers=0)
    with stack:
        assert stack.project is not None
        # Given a second api process over the same database
        second_port = free_port()
        second = stack.another_api("api-2", second_port)
        second.start()
        try:
            second_url = f"http://127.0.0.1:{second_port}"
            deadline = time.monotonic() + 30
            while not _ready(second_url):
                assert second.alive and time.monotonic() < deadline, second.tail()
                time.sleep(0.1)
            tenants_on_second = f"{second_url}/api/v1/tenants"
            admin = {"Authorization": f"Bearer {stack.project.api_key}"}

            # And a key minted through the first, in use on the second (so it is cached)
            minted = httpx.post(
                f"{stack.base_url}/api/v1/api-keys", json={"name": "ci"}, headers=admin
            )
            assert minted.status_code == 201, minted.text
            key, key_id = minted.json()["key"], minted.json()["id"]
            for _ in range(5):
                reply = httpx.get(tenants_on_second, headers={"Authorization": f"Bearer {key}"})
                assert reply.status_code == 200

            # When it is revoked through the first
            revoked = httpx.delete(f"{stack.base_url}/api/v1/api-keys/{key_id}", headers=admin)
            assert revoked.status_code == 204
            through_api_s = refused_after(tenants_on_second, key, time.monotonic())

            # And a read key minted by the CLI is used on the second, then revoked by the CLI
            cli_args = ["--project", stack.project.project_id, "--name", "dash", "--scope", "read"]
            created = json.loads(stack.run("key", "create", *cli_args, "--json"))
            read = {"Authorization": f"Bearer {created['key']}"}
            assert created["scopes"] == ["read"]
            assert httpx.get(tenants_on_second, headers=read).status_code == 200
            written = httpx.post(tenants_on_second, json={"name": "x"}, headers=read)
            assert written.status_code == 403, written.text
            stack.run("key", "revoke", created["id"])
            through_cli_s = refused_after(tenants_on_second, created["key"], time.monotonic())
        finally:
            second.stop()

    # Then the second process refused each within the bound
    assert through_api_s < REVOKED_WITHIN_S, through_api_s
    assert through_cli_s < REVOKED_WITHIN_S, through_cli_s


def _ready(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
