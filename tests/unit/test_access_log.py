"""The access log of ``herald api`` and ``herald dev``: every request, never a link's token.

Both run as real processes; the magic link's token travels in the query string, which
uvicorn's access line shows.
"""

from pathlib import Path

import httpx

from app.logs import REDACTED, redact_tokens
from tests.herald_cli import UNREACHED_PRODUCTION_ENV, serving


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
