"""``herald dev``: its settings, and a second one on a taken port stops before it starts."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from app.cli import dev_settings
from app.config import Settings
from tests.herald_cli import REPO, serving

SECOND_START_TIMEOUT_S = 30.0


def test_a_second_dev_server_on_the_same_port_says_so_and_exits(tmp_path: Path) -> None:
    # Given `herald dev` serving on a port
    env = {"HERALD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/herald.db"}
    with serving(["dev"], env, tmp_path) as url:
        port = httpx.URL(url).port
        assert port is not None

        # When a second `herald dev` is started on the same port
        second = subprocess.run(
            [sys.executable, "-m", "app.cli", "dev", "--port", str(port)],
            cwd=tmp_path,
            env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), **env},
            capture_output=True,
            text=True,
            timeout=SECOND_START_TIMEOUT_S,
        )

        # Then it names the port and a free one, exits non-zero, and printed no banner
        assert second.returncode == 1, second.stderr
        assert f"port {port} is in use; try `make dev PORT=" in second.stderr
        assert "Herald (dev)" not in second.stdout + second.stderr
        assert "alembic" not in second.stderr  # nor migrated the shared database
        # and the first one still serves
        assert httpx.get(f"{url}/healthz").is_success


def test_portal_links_point_at_the_port_dev_serves_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a fresh working directory
    monkeypatch.chdir(tmp_path)

    # When `herald dev --port 8001` makes its settings, without and with HERALD_PUBLIC_URL
    chosen = dev_settings(Settings(), {}, "http://127.0.0.1:8001")
    configured = dev_settings(
        Settings(public_url="https://hooks.test"),
        {"HERALD_PUBLIC_URL": "https://hooks.test"},
        "http://127.0.0.1:8001",
    )

    # Then links lead to the port it serves on, unless the environment says otherwise
    assert chosen.public_url == "http://127.0.0.1:8001"
    assert configured.public_url == "https://hooks.test"
