"""The support console: sign-in, throttling, expiry, CSRF, search, message detail, replay."""

import re
from datetime import timedelta

import httpx
from sqlalchemy import insert

from app.config import Settings
from app.db.base import utcnow
from app.db.models import Message
from app.db.session import Database, commit
from app.staff.throttle import MAX_FAILURES
from portal.console.session import CONSOLE_COOKIE, cookies
from tests.conftest import ProjectKey, make_project
from tests.portal.console_fixtures import EMAIL, PASSWORD, csrf_of, log_in
from tests.replay_seed import make_tenant_endpoint, seed_deliveries


async def test_staff_sign_in_with_a_twelve_hour_session(
    client: httpx.AsyncClient, staff: str
) -> None:
    # Given a staff account; When it signs in with its password
    reply = await log_in(client)

    # Then it lands on the console with an HttpOnly session cookie of twelve hours
    assert (reply.status_code, reply.headers["location"]) == (303, "/console")
    cookie = reply.headers["set-cookie"]
    assert "herald_console=" in cookie and "HttpOnly" in cookie
    max_age = int(re.search(r"Max-Age=(\d+)", cookie).group(1))  # type: ignore[union-attr]
    assert 12 * 3600 - 5 <= max_age <= 12 * 3600
    home = await client.get("/console")
    assert home.status_code == 200 and EMAIL in home.text and "Search deliveries" in home.text


async def test_a_wrong_password_is_refused_and_pages_need_a_session(
    client: httpx.AsyncClient, staff: str
) -> None:
    # When a wrong password is given, or a page is opened without signing in
    wrong = await log_in(client, "not the password")
    page = await client.get("/console/replays")

    # Then the form says so, and the page sends to the sign-in form
    assert wrong.status_code == 401 and "do not match" in wrong.text
    assert (page.status_code, page.headers["location"]) == (303, "/console/login")


async def test_five_failures_lock_the_login_even_for_the_right_password(
    client: httpx.AsyncClient, staff: str
) -> None:
    # Given five failed sign-ins (the fifth already answers with the lockout)
    for _ in range(MAX_FAILURES - 1):
        assert (await log_in(client, "not the password")).status_code == 401
    assert (await log_in(client, "not the password")).status_code == 429

    # When the right password comes next
    reply = await log_in(client)

    # Then it is refused for now, with a lockout message
    assert reply.status_code == 429
    assert "Too many failed sign-ins. Try again in 15 minutes." in reply.text
    assert (await client.get("/console")).status_code == 303


async def test_an_expired_or_tampered_session_is_refused(
    client: httpx.AsyncClient, settings: Settings, staff: str, project: ProjectKey
) -> None:
    # Given session cookies that expired a second ago, or whose signature was altered
    claims = {"sid": "s1", "stf": staff, "pid": project.project_id}
    expired = cookies(settings).issue(claims, utcnow() - timedelta(seconds=1)).value
    valid = cookies(settings).issue(claims, utcnow() + timedelta(hours=1)).value
    for value in (expired, valid[:-2] + "xx"):
        # When a console page is opened with it
        client.cookies.set(CONSOLE_COOKIE.name, str(value), path="/console")
        reply = await client.get("/console")
        # Then it goes to the sign-in form
        assert (reply.status_code, reply.headers["location"]) == (303, "/console/login")
    # And the genuine cookie works
    client.cookies.set(CONSOLE_COOKIE.name, str(valid), path="/console")
    assert (await client.get("/console")).status_code == 200


async def test_posts_without_the_csrf_token_are_refused(
    console: httpx.AsyncClient, staff: str
) -> None:
    # When a signed-in staff's browser posts without the token (another site's form)
    since = {"since": "2026-01-01T00:00", "status_failed": "1"}
    start = await console.post("/console/replays", data=since)
    logout = await console.post("/console/logout")
    forged = await console.post("/console/replays", data={**since, "_csrf": "0" * 64})

    # Then each is refused and nothing is done
    assert (start.status_code, logout.status_code, forged.status_code) == (403, 403, 403)
    assert "did not come from this page" in start.text
    assert "No replay yet." in (await console.get("/console/replays")).text


async def test_a_login_post_without_its_form_token_is_refused(
    client: httpx.AsyncClient, staff: str
) -> None:
    # Given the sign-in form was opened
    await client.get("/console/login")
    # When credentials are posted without the form's token
    reply = await client.post("/console/login", data={"email": EMAIL, "password": PASSWORD})
    # Then it is refused, and no session starts
    assert reply.status_code == 403
    assert (await client.get("/console")).status_code == 303


async def test_search_spans_tenants_of_the_project_only(
    console: httpx.AsyncClient,
    api: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    project: ProjectKey,
) -> None:
    # Given two tenants of the project, and another project with its own deliveries
    acme, acme_ep = await make_tenant_endpoint(api, "acme", "https://acme.example/hooks")
    globex, globex_ep = await make_tenant_endpoint(api, "globex", "https://globex.example/in")
    pid = project.project_id
    acme_ids = await seed_deliveries(database, pid, acme, acme_ep, 2)
    await seed_deliveries(database, pid, globex, globex_ep, 3, status="succeeded")
    other = await make_project(database, settings, "other")
    other_api = httpx.AsyncClient(transport=api._transport, base_url=str(api.base_url))
    other_api.headers.update(other.headers)
    o_tenant, o_ep = await make_tenant_endpoint(other_api, "acme", "https://acme.example/hooks")
    other_ids = await seed_deliveries(database, other.project_id, o_tenant, o_ep, 4)

    async def found(**query: str) -> set[str]:
        page = await console.get("/console", params=query)
        assert page.status_code == 200
        return set(re.findall(r'data-delivery="(dlv_[^"]+)"', page.text))

    # When staff search by tenant, URL, status and time, Then only this project's match
    assert await found(tenant="acme") == set(acme_ids)
    assert await found(tenant=globex) and not (await found(tenant=globex)) & set(acme_ids)
    assert await found(endpoint_url="acme.example") == set(acme_ids)
    assert len(await found(status="succeeded")) == 3
    assert len(await found(since=(utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))) == 5
    assert await found(until="2020-01-01T00:00") == set()
    assert not (await found(status="failed")) & set(other_ids)
    await other_api.aclose()


async def test_message_detail_escapes_the_payload_and_hides_other_projects(
    console: httpx.AsyncClient,
    api: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    project: ProjectKey,
) -> None:
    # Given a message whose payload carries markup, and another project's message
    await make_tenant_endpoint(api, "acme")
    published = await api.post(
        "/api/v1/tenants/acme/messages",
        json={
            "event_type": "x.y",
            "payload": {"note": "<script>alert(1)</script>"},
            "event_id": "e-1",
        },
    )
    message_id = published.json()["id"]
    other = await make_project(database, settings, "other")
    async with database.session() as session:
        other_tenant = (await api.get("/api/v1/tenants/acme")).json()["id"]
        await session.execute(
            insert(Message).values(
                id="msg_OTHER", project_id=other.project_id, tenant_id=other_tenant,
                event_type="x.y", payload=b"{}", created_at=utcnow(),
            )
        )  # fmt: skip
        await commit(session)

    # When staff open the first by search and detail, and the other by URL
    by_event = await console.get("/console", params={"message": "e-1"})
    detail = await console.get(f"/console/messages/{message_id}")
    foreign = await console.get("/console/messages/msg_OTHER")

    # Then the payload shows as text, never as markup, and the other is not found
    assert f"/console/messages/{message_id}" in by_event.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail.text
    assert "<script>alert(1)" not in detail.text
    assert foreign.status_code == 404


async def test_bulk_replay_counts_then_runs_and_reports(
    console: httpx.AsyncClient,
    api: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    project: ProjectKey,
) -> None:
    # Given three failed and two exhausted deliveries of one tenant
    tenant, endpoint = await make_tenant_endpoint(api, "acme")
    await seed_deliveries(database, project.project_id, tenant, endpoint, 3)
    await seed_deliveries(database, project.project_id, tenant, endpoint, 2, status="exhausted")
    page = await console.get("/console/replays")
    token = csrf_of(page)
    form = {
        "_csrf": token,
        "tenant": "acme",
        "status_failed": "1",
        "since": (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
    }

    # When the filter is previewed (as htmx does), then confirmed
    preview = await console.post(
        "/console/replays/preview", data=form, headers={"HX-Request": "true"}
    )
    bad = await console.post("/console/replays/preview", data={**form, "tenant": "nobody"})
    started = await console.post("/console/replays", data=form)

    # Then the count is shown first, a bad filter says why, and the job's page shows progress
    assert 'data-count="3"' in preview.text and "3</strong> deliveries match" in preview.text
    assert "no tenant" in bad.text
    assert started.status_code == 303
    replay_url = started.headers["location"]
    assert replay_url.startswith("/console/replays/rpl_")
    progress = await console.get(replay_url + "/progress")
    assert 'data-status="queued"' in progress.text and 'hx-trigger="every 1s"' in progress.text
    assert "0 of 3 processed" in progress.text
