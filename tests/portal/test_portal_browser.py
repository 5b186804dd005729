"""The tenant portal in Debian's chromium (Playwright) against a real server.

One uvicorn server on 127.0.0.1 (the test's loop), the in-process worker and the
scheduler, a temporary SQLite database and a real receiver: the same moving parts as
``herald dev``. Screenshots of the main pages go to ``test-artifacts/portal/``.
"""

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select, update

from app.asgi import create_app
from app.config import Settings
from app.db.base import utcnow
from app.db.models import Delivery
from app.db.session import Database, commit
from portal.assets import HTMX, fetch
from tests.browser import ARTIFACTS as BROWSER_ARTIFACTS
from tests.browser import chromium_page, needs_chromium
from tests.conftest import ProjectKey, make_project, wait_until
from tests.receivers import Receiver, Reply
from workers.scheduler import run_scheduler
from workers.stack import WorkerStack

ARTIFACTS = BROWSER_ARTIFACTS / "portal"
UI_TIMEOUT_MS = 15_000

pytestmark = [pytest.mark.browser, needs_chromium]

INVOICE_SCHEMA = {
    "type": "object",
    "properties": {
        "invoice": {"type": "string", "examples": ["in_42"]},
        "amount": {"type": "integer"},
    },
}


@dataclass(frozen=True)
class LiveHerald:
    base_url: str
    api: httpx.AsyncClient
    project: ProjectKey


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """One attempt only: a failed delivery stays failed until someone retries it."""
    return settings.with_changes(retry_schedule_s=(0,), public_url="http://127.0.0.1:0")


@pytest.fixture
async def live(
    settings: Settings, worker_stack: WorkerStack, database: Database
) -> AsyncIterator[LiveHerald]:
    fetch(HTMX)  # the asset pipeline, as `make install` runs it (no-op when present)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    served = settings.with_changes(public_url=f"http://127.0.0.1:{port}")
    app_database = Database(served.database_url, sender=worker_stack.sender)
    server = uvicorn.Server(
        uvicorn.Config(create_app(served, app_database), log_level="warning", lifespan="on")
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    stop = asyncio.Event()
    scheduling = asyncio.create_task(run_scheduler(database, served, stop))
    await wait_until(_started(server), timeout_s=10)
    project = await make_project(database, served, "browser")
    base_url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", headers=project.headers) as api:
        yield LiveHerald(base_url=base_url, api=api, project=project)
    stop.set()
    server.should_exit = True
    await asyncio.wait_for(asyncio.gather(serving, scheduling), timeout=15)
    sock.close()


def _started(server: uvicorn.Server) -> Any:
    async def check() -> bool:
        return bool(server.started)

    return check


@pytest.fixture
async def page(live: LiveHerald) -> AsyncIterator[Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with chromium_page(UI_TIMEOUT_MS) as opened:
        opened.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        yield opened


async def seed(live: LiveHerald) -> None:
    api = live.api
    await api.patch(
        "/project", json={"branding": {"name": "Acme Cloud", "accent_color": "#0e7490"}}
    )
    await api.post("/tenants", json={"uid": "acme", "name": "Acme Corp"})
    await api.post(
        "/event-types",
        json={
            "name": "invoice.paid",
            "description": "An invoice was paid.",
            "schema": INVOICE_SCHEMA,
        },
    )


async def shot(page: Any, name: str) -> None:
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def test_tenant_fixes_its_webhooks_in_the_portal(
    live: LiveHerald, page: Any, receiver: Receiver
) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    # Given a branded project with a tenant, and a fresh magic link
    await seed(live)
    link = (await live.api.post("/tenants/acme/portal-access", json={})).json()

    # When the tenant opens it
    await page.goto(link["url"])

    # Then they land on their endpoints, the token gone from the address bar
    await expect(page.get_by_role("heading", name="Endpoints", exact=True)).to_be_visible()
    assert "token" not in page.url
    await expect(page.locator(".brand-name")).to_have_text("Acme Cloud")
    await shot(page, "01-endpoints-empty")

    # When they add an endpoint, seeing the SSRF verdict as they type
    await page.get_by_role("link", name="Add your first endpoint").click()
    await page.get_by_label("Endpoint URL").fill("http://169.254.169.254/latest")
    await expect(page.locator("#url-verdict")).to_contain_text("✗")
    await page.get_by_label("Endpoint URL").fill(receiver.url("/hook"))
    await expect(page.locator("#url-verdict")).to_contain_text("can deliver")
    await page.get_by_label("Description").fill("Billing sync")
    await page.get_by_label("invoice.paid").check()
    await page.get_by_label("Custom headers").fill("X-Team: billing")
    await shot(page, "02-endpoint-form")
    await page.get_by_role("button", name="Create endpoint").click()

    # Then the endpoint page shows it as active
    await expect(page.locator("#endpoint-head .pill")).to_have_text("Active")

    # When they send a test event
    await page.get_by_role("button", name="Send test event").click()

    # Then the attempt appears as it arrives, succeeded with the receiver's 200
    await expect(page.locator("#test-result [data-attempt-status=succeeded]")).to_be_visible()
    assert len(receiver.requests_to("/hook")) == 1

    # When they reveal and rotate the signing secret
    await page.get_by_role("button", name="Reveal").click()
    old_key = await page.locator("#secret-value").inner_text()
    await page.get_by_role("button", name="Rotate secret").click()

    # Then a new key shows, with the overlap window of the old one
    await expect(page.locator("#secret")).to_contain_text("Secret rotated")
    await expect(page.locator("#secret-value")).not_to_have_text(old_key)
    assert old_key.startswith("whsec_")
    await shot(page, "03-endpoint-detail")

    # Given a message whose only attempt failed (one-attempt schedule)
    receiver.script("/hook", Reply(500, body=b"<b>down</b>"), then=Reply(200))
    message = (
        await live.api.post(
            "/tenants/acme/messages",
            json={"event_type": "invoice.paid", "payload": {"invoice": "in_1", "amount": 5}},
        )
    ).json()
    await page.goto(f"{live.base_url}/portal/messages/{message['id']}")
    delivery = page.locator(".delivery").first
    await expect(delivery).to_have_attribute("data-status", "exhausted")
    await expect(delivery.locator(".attempt-body pre")).to_have_text("<b>down</b>")

    # When they retry it
    await delivery.get_by_role("button", name="Retry").click()

    # Then a manual attempt succeeds and the delivery shows it
    await expect(page.locator(".delivery").first).to_have_attribute("data-status", "succeeded")
    await expect(page.locator("[data-attempt-status=succeeded]")).to_have_count(1)
    await shot(page, "04-message-detail")

    # Given two more failed deliveries while their server was down
    receiver.script("/hook", Reply(503), Reply(503), then=Reply(200))
    for n in (2, 3):
        await live.api.post(
            "/tenants/acme/messages",
            json={"event_type": "invoice.paid", "payload": {"invoice": f"in_{n}", "amount": n}},
        )
    await wait_until(_requests_at_least(receiver, "/hook", 5), timeout_s=10)

    # When they recover the endpoint since yesterday
    await page.goto(f"{live.base_url}/portal/endpoints")
    await page.locator("a.row-link").first.click()
    await page.get_by_role("button", name="Recover").click()

    # Then the recovery runs to 100 % and both are delivered
    await expect(page.locator("#recovery .pill")).to_have_text("Completed")
    await expect(page.locator("#recovery")).to_contain_text("100 %")
    await wait_until(_requests_at_least(receiver, "/hook", 7), timeout_s=10)
    await shot(page, "05-endpoint-recovered")

    # And the log, filtered, and the catalog read well
    await page.goto(f"{live.base_url}/portal/messages")
    await expect(page.locator("tbody tr")).to_have_count(4)
    await shot(page, "06-message-log")
    await page.get_by_role("link", name="Event catalog").click()
    await expect(page.locator("#event-invoice\\.paid")).to_contain_text("in_42")
    await shot(page, "07-event-catalog")


def _requests_at_least(receiver: Receiver, path: str, count: int) -> Any:
    async def check() -> bool:
        return len(receiver.requests_to(path)) >= count

    return check


async def test_an_open_attempt_stays_open_while_the_delivery_retries(
    live: LiveHerald, page: Any, receiver: Receiver, database: Database
) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    # Given a delivery whose attempt failed, retried in five minutes, to a long URL
    await seed(live)
    long_path = "/hooks/" + "billing-events/" * 4 + "acme-corporation-production"
    receiver.script(long_path, then=Reply(503, body=b"try later"))
    long_url = receiver.url(long_path)
    await live.api.post("/tenants/acme/endpoints", json={"url": long_url})
    message = (
        await live.api.post(
            "/tenants/acme/messages", json={"event_type": "invoice.paid", "payload": {}}
        )
    ).json()
    await wait_until(_delivery_finished(database, message["id"]), timeout_s=10)
    async with database.session() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.message_id == message["id"])
            .values(status="failed", next_attempt_at=utcnow() + timedelta(minutes=5))
        )
        await commit(session)
    link = (await live.api.post("/tenants/acme/portal-access", json={})).json()
    await page.goto(link["url"])
    polls: list[str] = []
    page.on("response", lambda r: polls.append(r.url) if "/deliveries" in r.url else None)

    # When the tenant opens the attempt while the panel polls every second
    await page.goto(f"{live.base_url}/portal/messages/{message['id']}")
    await expect(page.locator(".delivery .pill").first).to_have_text(
        re.compile(r"Retrying · next in [45] min")
    )
    await page.locator("details.attempt summary").first.click()
    await page.wait_for_timeout(2_500)

    # Then it is still open after the polls
    assert len(polls) >= 2
    await expect(page.locator("details.attempt").first).to_have_attribute("open", "")
    await expect(page.locator(".attempt-body pre").first).to_be_visible()
    await shot(page, "08-message-retrying")


async def test_a_refused_url_shows_its_reason_once(live: LiveHerald, page: Any) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    # Given a tenant on the Add endpoint form
    await seed(live)
    link = (await live.api.post("/tenants/acme/portal-access", json={})).json()
    await page.goto(link["url"])
    await page.goto(f"{live.base_url}/portal/endpoints/new")

    # When they submit a private address
    await page.get_by_label("Endpoint URL").fill("http://10.1.2.3/hook")
    await page.get_by_role("button", name="Create endpoint").click()
    await expect(page.locator("#url-verdict")).to_contain_text("private")
    await page.wait_for_timeout(800)

    # Then the reason shows once, even after the page's own checks have run
    await expect(page.get_by_text(re.compile("private"))).to_have_count(1)
    await shot(page, "09-endpoint-form-refused")


def _delivery_finished(database: Database, message_id: str) -> Any:
    async def check() -> bool:
        async with database.session() as session:
            status = await session.scalar(
                select(Delivery.status).where(Delivery.message_id == message_id)
            )
        return status not in (None, "pending")

    return check
