"""Who did what in the console: the replay page names who started each replay, and every
state-changing console action is one log line (``portal.console.audit``)."""

import logging
import re
from datetime import timedelta

import httpx
import pytest

from app.config import Settings
from app.db.base import utcnow
from app.db.session import Database
from tests.conftest import ProjectKey
from tests.herald_cli import run_cli
from tests.portal.console_fixtures import EMAIL, PASSWORD, csrf_of, log_in
from tests.replay_seed import make_tenant_endpoint, seed_deliveries

CLI_SECRET_KEY = "0b7f4c1e9a2d58e3f6c7b1a4d9e2f5083c6a1b7e4d2f9c5a8e1b3d7f6a2c4e9b"


def replay_form(page: httpx.Response) -> dict[str, str]:
    since = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    return {"_csrf": csrf_of(page), "tenant": "acme", "status_failed": "1", "since": since}


async def test_the_replay_page_names_the_key_the_staff_or_the_cli_that_started_it(
    console: httpx.AsyncClient,
    api: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    project: ProjectKey,
    staff: str,
) -> None:
    # Given failed deliveries of one tenant
    tenant, endpoint = await make_tenant_endpoint(api, "acme")
    await seed_deliveries(database, project.project_id, tenant, endpoint, 2)
    (key,) = (await api.get("/api/v1/api-keys")).json()["data"]

    # When one replay is started through the API, one from the console, one from the shell
    by_key = (await api.post("/api/v1/replays", json={"since": utcnow().isoformat()})).json()
    started = await console.post(
        "/console/replays", data=replay_form(await console.get("/console/replays"))
    )
    by_staff = started.headers["location"].rsplit("/", 1)[1]
    since = (utcnow() - timedelta(hours=1)).isoformat()
    code, out, err = await run_cli(
        settings, "replay", "--project", project.project_id, "--since", since,
        env={"HERALD_SECRET_KEY": CLI_SECRET_KEY},
    )  # fmt: skip
    assert code == 0, err
    by_cli = re.search(r"replay (rpl_\w+)", out).group(1)  # type: ignore[union-attr]

    # Then the API reports each actor
    actors = [(await api.get(f"/api/v1/replays/{i}")).json()["actor"] for i in (by_staff, by_cli)]
    assert by_key["actor"] == {"kind": "api_key", "id": key["id"]}
    assert actors[0] == {"kind": "staff", "id": staff}
    assert actors[1]["kind"] == "cli"
    # And each replay's console page says who started it
    ids = (by_key["id"], by_staff, by_cli)
    pages = [(await console.get(f"/console/replays/{i}")).text for i in ids]
    assert f"Started by API key {key['id']}" in pages[0]
    assert f"Started by staff {EMAIL} ({staff})" in pages[1]
    assert "Started by herald replay" in pages[2]


async def test_each_console_action_is_one_log_line_with_staff_and_object_ids(
    client: httpx.AsyncClient,
    api: httpx.AsyncClient,
    database: Database,
    project: ProjectKey,
    staff: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a tenant with a failed delivery
    tenant, endpoint = await make_tenant_endpoint(api, "acme")
    await seed_deliveries(database, project.project_id, tenant, endpoint, 1)
    caplog.set_level(logging.INFO, logger="herald.console")

    # When staff signs in, starts a replay, signs out, then signs in and out everywhere
    assert (await log_in(client)).status_code == 303
    started = await client.post(
        "/console/replays", data=replay_form(await client.get("/console/replays"))
    )
    replay_id = started.headers["location"].rsplit("/", 1)[1]
    page = await client.get("/console")
    await client.post("/console/logout", data={"_csrf": csrf_of(page)})
    assert (await log_in(client)).status_code == 303
    page = await client.get("/console")
    await client.post("/console/logout-everywhere", data={"_csrf": csrf_of(page)})

    # Then there is one line per action, naming the staff and the objects
    lines = [r.getMessage() for r in caplog.records if r.name == "herald.console"]
    assert [line.split()[1] for line in lines] == [
        "sign_in", "replay.start", "sign_out", "sign_in", "sign_out_everywhere",
    ]  # fmt: skip
    assert all(f"staff={staff}" in line for line in lines)
    assert f"replay={replay_id} tenant={tenant}" in lines[1]
    assert f"project={project.project_id}" in lines[0]
    # And never a password, an e-mail, a cookie or a CSRF token
    secrets = [PASSWORD, EMAIL, client.cookies.get("herald_console") or "-", csrf_of(page)]
    assert not [s for s in secrets if any(s in line for line in lines)]
