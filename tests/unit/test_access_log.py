"""The access log of ``herald api`` and ``herald dev``: every request, never a link's token.

Both run as real processes; the magic link's token travels in the query string, which
uvicorn's access line shows.
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.logs import REDACTED, redact_tokens
from tests.herald_cli import UNREACHED_PRODUCTION_ENV
from tests.services import free_port

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0


@contextmanager
def serving(args: list[str], env: Mapping[str, str], directory: Path) -> Iterator[str]:
    """``herald ARGS --port P`` in ``directory`` until it answers /healthz; yields its URL.
    Its output (stdout and stderr) is in ``directory / "herald.log"``."""
    port = free_port()
    environ = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), **env}
    with (directory / "herald.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *args, "--port", str(port)],
            cwd=directory,
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_healthy(process, url, directory / "herald.log")
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _wait_until_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("herald exited: " + log.read_text(errors="replace"))
        try:
            if httpx.get(f"{url}/healthz", timeout=2).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("herald did not start: " + log.read_text(errors="replace"))


def access_lines(log: Path, path: str) -> list[str]:
    """The access-log lines for requests to ``path``, read once the server has stopped."""
    return [line for line in log.read_text(errors="replace").splitlines() if f"GET {path}" in line]


def test_redact_tokens_blanks_token_values_only() -> None:
    assert redact_tokens("/portal/access?token=abc.def-1&x=1") == (
        f"/portal/access?token={REDACTED}&x=1"
    )
    assert redact_tokens("/p?a=1&csrf_token=s3cret") == f"/p?a=1&csrf_token={REDACTED}"
    assert redact_tokens("/p?Token=s3cret") == f"/p?Token={REDACTED}"
    assert redact_tokens("/p?tokens=a&notoken=b&q=token=c") == "/p?tokens=a&notoken=b&q=token=c"


def test_the_api_logs_a_portal_link_without_its_token(tmp_path: Path) -> None:
    # Given `herald api` (production settings; it needs no database to answer this)
    with serving(["api"], UNREACHED_PRODUCTION_ENV, tmp_path) as url:
        # When a magic link with a token is opened
        reply = httpx.get(f"{url}/portal/access", params={"token": "s3cret-link-token", "x": 1})
        assert reply.status_code < 500, reply.text

    # Then the request is in the access log, and its token is not
    log = tmp_path / "herald.log"
    lines = access_lines(log, "/portal/access")
    assert len(lines) == 1 and f"token={REDACTED}&x=1" in lines[0], log.read_text()
    assert "s3cret-link-token" not in log.read_text()


def test_dev_logs_a_redeemed_magic_link_without_its_token(tmp_path: Path) -> None:
    # Given `herald dev`, a tenant and a real magic link to its portal
    env = {"HERALD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/herald.db"}
    with serving(["dev"], env, tmp_path) as url:
        key = (tmp_path / ".herald" / "dev-api-key").read_text().strip()
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as api:
            assert api.post("/api/v1/tenants", json={"uid": "t", "name": "T"}).status_code == 201
            link = api.post("/api/v1/tenants/t/portal-access", json={}).json()

        # When the link is opened
        opened = httpx.get(f"{url}{httpx.URL(link['url']).raw_path.decode()}")
        assert opened.status_code == 303, opened.text

    # Then the access log shows the request without the token
    log = tmp_path / "herald.log"
    lines = access_lines(log, "/portal/access")
    assert len(lines) == 1 and f"token={REDACTED}" in lines[0], log.read_text()
    assert link["token"] not in log.read_text()
