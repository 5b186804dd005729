"""How the portal and console pages read: retries, error kinds, empty and failed
replays, the URL error, schema-less event types, and the bulk replay preview."""

from datetime import timedelta

import httpx
from litestar import Litestar
from sqlalchemy import select, update

from app.db.base import utcnow
from app.db.models import Attempt, Delivery, Replay
from app.db.session import Database, commit
from app.ids import new_id
from tests.conftest import ProjectKey
from tests.portal.console_fixtures import csrf_of
from tests.portal.portal_fixtures import make_endpoint, make_tenant, open_portal
from tests.replay_seed import make_tenant_endpoint, seed_deliveries


async def _retrying_after_a_dns_failure(database: Database, message_id: str) -> str:
    """Record a DNS failure for the message's delivery, retried in five minutes."""
    async with database.session() as session:
        delivery = await session.scalar(select(Delivery).where(Delivery.message_id == message_id))
        assert delivery is not None
        attempt_id = new_id("atm")
        session.add(
            Attempt(
                id=attempt_id,
                project_id=delivery.project_id,
                tenant_id=delivery.tenant_id,
                delivery_id=delivery.id,
                message_id=message_id,
                endpoint_id=delivery.endpoint_id,
                status="failed",
                duration_ms=3,
                error_kind="dns",
                error="cannot resolve hooks.example.com: Name or service not known",
            )
        )
        await session.execute(
            update(Delivery)
            .where(Delivery.id == delivery.id)
            .values(
                status="failed",
                attempt_count=1,
                next_attempt_at=utcnow() + timedelta(minutes=5, seconds=20),
            )
        )
        await commit(session)
    return attempt_id


async def _finish(database: Database, replay_id: str, **values: object) -> None:
    """End a replay as its job would (no worker runs in these tests)."""
    async with database.session() as session:
        await session.execute(update(Replay).where(Replay.id == replay_id).values(**values))
        await commit(session)


async def test_a_retrying_delivery_reads_as_retrying_and_keeps_open_attempts_open(
    app: Litestar, api: httpx.AsyncClient, database: Database
) -> None:
    # Given a delivery whose DNS lookup failed, retried in five minutes
    await make_tenant(api, "acme")
    await make_endpoint(api, "acme", "https://hooks.example.com/a")
    message = (
        await api.post(
            "/api/v1/tenants/acme/messages", json={"event_type": "invoice.paid", "payload": {}}
        )
    ).json()
    attempt_id = await _retrying_after_a_dns_failure(database, message["id"])
    browser = await open_portal(app, api, "acme")

    # When its message page, its polled fragment and the message log are shown
    page = await browser.get(f"/portal/messages/{message['id']}")
    fragment = await browser.get(f"/portal/messages/{message['id']}/deliveries")
    log = await browser.get("/portal/messages")

    # Then it says when it retries, not "Failed"; the error kind is a phrase; the poll
    # keeps each attempt's node (and so its open state) by id
    for html in (page.text, fragment.text):
        assert "Retrying · next in 5 min" in html
        assert "pill-failed" not in html.split('class="attempts"')[0]
        assert "DNS lookup failed: cannot resolve" in html
        assert ">dns<" not in html
        assert f'id="attempt-{attempt_id}" hx-preserve="true"' in html
    assert 'hx-trigger="every 1s"' in fragment.text
    assert "pill-retrying" in log.text and "pill-failed" not in log.text


async def test_a_refused_url_is_explained_once(app: Litestar, api: httpx.AsyncClient) -> None:
    # Given a signed-in tenant
    await make_tenant(api, "acme")
    browser = await open_portal(app, api, "acme")

    # When they submit a URL Herald refuses
    reply = await browser.client.post(
        "/portal/endpoints", data={"_csrf": browser.csrf, "url": "http://10.1.2.3/hook"}
    )

    # Then the reason is shown once, where the live verdict goes, which does not load
    # its own copy of it
    assert reply.status_code == 422
    assert reply.text.count("private") == 1
    assert 'class="verdict verdict-bad field-error" id="url-verdict"' in reply.text
    assert 'hx-trigger="input changed delay:400ms"' in reply.text


async def test_recovering_nothing_says_so(
    app: Litestar, api: httpx.AsyncClient, database: Database
) -> None:
    # Given an endpoint with no failed delivery
    await make_tenant(api, "acme")
    endpoint = await make_endpoint(api, "acme", "https://example.com/a")
    browser = await open_portal(app, api, "acme")
    since = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    # When they recover it, and the recovery is followed
    started = await browser.htmx(
        "POST", f"/portal/endpoints/{endpoint}/recover", data={"since": since}
    )
    replay_id = started.text.split('<span class="mono">')[1].split("<")[0]
    await _finish(database, replay_id, status="completed", total=0, done=0)
    followed = await browser.get(f"/portal/recoveries/{replay_id}")

    # Then it says there was nothing to recover, with no "0 of 0 · 100 %"
    assert "Nothing to recover" in followed.text
    assert "100 %" not in followed.text and "0 of 0" not in followed.text


async def test_the_endpoint_page_says_24_h(app: Litestar, api: httpx.AsyncClient) -> None:
    # Given an endpoint of a project with the default one-day secret overlap
    await make_tenant(api, "acme")
    endpoint = await make_endpoint(api, "acme", "https://example.com/a")
    browser = await open_portal(app, api, "acme")

    # When its page is shown
    page = await browser.get(f"/portal/endpoints/{endpoint}")

    # Then the overlap reads "24 h"
    assert "24\u00a0h" in page.text and "24.0" not in page.text


async def test_an_event_type_without_a_schema_has_no_fake_example(
    app: Litestar, api: httpx.AsyncClient
) -> None:
    # Given an event type without a schema
    await api.post("/api/v1/event-types", json={"name": "note.added"})
    await make_tenant(api, "acme")
    browser = await open_portal(app, api, "acme")

    # When the catalog is opened
    page = await browser.get("/portal/event-types")

    # Then it says any JSON object will do instead of showing {}
    assert "any JSON object" in page.text
    assert '<pre class="code">{}</pre>' not in page.text


async def test_a_failed_replay_shows_how_far_it_got(
    console: httpx.AsyncClient,
    api: httpx.AsyncClient,
    database: Database,
    project: ProjectKey,
) -> None:
    # Given a replay of four deliveries that failed after one
    tenant, endpoint = await make_tenant_endpoint(api, "acme")
    await seed_deliveries(database, project.project_id, tenant, endpoint, 4)
    page = await console.get("/console/replays")
    since = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    form = {"_csrf": csrf_of(page), "status_failed": "1", "since": since}
    replay_url = (await console.post("/console/replays", data=form)).headers["location"]
    await _finish(
        database, replay_url.rsplit("/", 1)[1], status="failed", total=4, done=1,
        error="the database went away",
    )  # fmt: skip

    # When its progress and the recent replays are shown
    progress = await console.get(replay_url + "/progress")
    recent = await console.get("/console/replays")

    # Then it stopped at 25 %, drawn as a failure, never 100 %
    assert "1 of 4 processed · stopped at 25 %" in progress.text
    assert "progress-failed" in progress.text and "100 %" not in progress.text
    assert "25 %" in recent.text


async def test_replaying_an_unknown_tenant_is_an_error_and_disables_the_button(
    console: httpx.AsyncClient,
) -> None:
    # Given the bulk replay form
    page = await console.get("/console/replays")
    since = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    form = {"_csrf": csrf_of(page), "tenant": "nobody", "status_failed": "1", "since": since}

    # When htmx previews a tenant that does not exist
    preview = await console.post(
        "/console/replays/preview", data=form, headers={"HX-Request": "true"}
    )

    # Then the preview is an error notice and the start button comes back disabled
    assert '<div id="preview" class="notice notice-bad" role="alert">' in preview.text
    assert "no tenant" in preview.text
    button = preview.text.split('id="start-replay"')[1].split(">")[0]
    assert 'hx-swap-oob="true"' in button and " disabled" in button
