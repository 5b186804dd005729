"""Who may enable a disabled endpoint from the portal: the tenant may undo its own disable
and Herald's (a 410, or failing for the project's disable-after), never the producer's."""

from datetime import timedelta

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import update

from app.db.base import utcnow
from app.db.models import Endpoint
from app.db.session import Database, commit
from app.outbox import Sender
from tests.conftest import wait_until
from tests.portal.portal_fixtures import PortalBrowser, make_endpoint, make_tenant, open_portal
from tests.receivers import Receiver, Reply
from workers.stack import WorkerStack

REFUSAL = "disabled by your provider, so only they can enable it again"


@pytest.fixture
def job_sender(worker_stack: WorkerStack) -> Sender:
    """Real deliveries: Herald itself disables endpoints that answer 410 or keep failing."""
    return worker_stack.sender


async def state(api: httpx.AsyncClient, endpoint: str) -> dict[str, object]:
    found: dict[str, object] = (await api.get(f"/api/v1/tenants/acme/endpoints/{endpoint}")).json()
    return found


async def enable(browser: PortalBrowser, endpoint: str) -> httpx.Response:
    return await browser.htmx("POST", f"/portal/endpoints/{endpoint}/enable")


async def test_the_tenant_cannot_enable_what_the_producer_disabled(
    app: Litestar, api: httpx.AsyncClient
) -> None:
    # Given an endpoint the producer disabled through the API, under its brand
    await api.patch("/api/v1/project", json={"branding": {"name": "Acme Cloud"}})
    await make_tenant(api, "acme")
    endpoint = await make_endpoint(api, "acme", "https://example.com/a")
    await api.patch(f"/api/v1/tenants/acme/endpoints/{endpoint}", json={"disabled": True})
    browser = await open_portal(app, api, "acme")

    # When the tenant looks at it
    page = await browser.get(f"/portal/endpoints/{endpoint}")

    # Then the page says who disabled it and offers no Enable button
    assert "disabled by Acme Cloud; only they can enable it again" in page.text
    assert f"/portal/endpoints/{endpoint}/enable" not in page.text

    # When it posts the enable action anyway: with htmx, as a plain form, and after
    # disabling it itself (which must not replace the producer's reason)
    toast = await enable(browser, endpoint)
    form = await browser.client.post(
        f"/portal/endpoints/{endpoint}/enable", data={"_csrf": browser.csrf}
    )
    relabel = await browser.htmx("POST", f"/portal/endpoints/{endpoint}/disable")
    again = await enable(browser, endpoint)

    # Then each enable is refused with the reason (a toast, a page; never a 500), and the
    # endpoint stays disabled by the producer
    statuses = (toast.status_code, form.status_code, relabel.status_code, again.status_code)
    assert statuses == (403, 403, 200, 403)
    assert toast.headers["hx-retarget"] == "#flash" and REFUSAL in toast.text
    assert REFUSAL in form.text and "<html" in form.text.lower()
    assert (await state(api, endpoint))["disabled_reason"] == "disabled through the API"
    # and the producer still can
    await api.patch(f"/api/v1/tenants/acme/endpoints/{endpoint}", json={"disabled": False})
    assert (await state(api, endpoint))["status"] == "active"


async def test_the_tenant_can_enable_what_it_disabled_itself(
    app: Litestar, api: httpx.AsyncClient
) -> None:
    # Given an endpoint the tenant disabled in the portal
    await make_tenant(api, "acme")
    endpoint = await make_endpoint(api, "acme", "https://example.com/a")
    browser = await open_portal(app, api, "acme")
    disabled = await browser.htmx("POST", f"/portal/endpoints/{endpoint}/disable")
    assert disabled.status_code == 200 and f"/portal/endpoints/{endpoint}/enable" in disabled.text
    assert (await state(api, endpoint))["disabled_reason"] == "disabled in the portal"

    # When it enables it again
    enabled = await enable(browser, endpoint)

    # Then the endpoint is active, and the fragment offers Pause
    assert enabled.status_code == 200, enabled.text
    assert f"/portal/endpoints/{endpoint}/pause" in enabled.text
    assert (await state(api, endpoint))["status"] == "active"


@pytest.mark.parametrize("answer", [410, 503], ids=["gone", "failing-for-days"])
async def test_the_tenant_can_enable_what_herald_disabled_for_failing(
    app: Litestar,
    api: httpx.AsyncClient,
    database: Database,
    receiver: Receiver,
    scheduler: None,
    answer: int,
) -> None:
    # Given an endpoint answering 410, or 503 after failing for the project's disable-after
    receiver.script("/hook", then=Reply(answer))
    await make_tenant(api, "acme")
    endpoint = await make_endpoint(api, "acme", receiver.url("/hook"))
    if answer == 503:
        await _failing_since_long_ago(api, database, endpoint)

    # When a message is delivered to it, Herald disables it
    await api.post("/api/v1/tenants/acme/messages", json={"event_type": "a", "payload": {}})

    async def disabled() -> bool:
        return bool((await state(api, endpoint))["disabled"])

    await wait_until(disabled)
    reason = str((await state(api, endpoint))["disabled_reason"])
    assert ("410 Gone" if answer == 410 else "every attempt failed for") in reason
    browser = await open_portal(app, api, "acme")
    page = await browser.get(f"/portal/endpoints/{endpoint}")
    assert f"/portal/endpoints/{endpoint}/enable" in page.text

    # Then the tenant, having fixed its server, may enable it again
    enabled = await enable(browser, endpoint)
    assert enabled.status_code == 200, enabled.text
    assert (await state(api, endpoint))["status"] == "active"


async def _failing_since_long_ago(
    api: httpx.AsyncClient, database: Database, endpoint: str
) -> None:
    project = (await api.get("/api/v1/project")).json()
    since = utcnow() - timedelta(seconds=project["disable_after_seconds"] + 60)
    async with database.session() as session:
        await session.execute(
            update(Endpoint)
            .where(Endpoint.id == endpoint)
            .values(failing_since=since, consecutive_failures=1)
        )
        await commit(session)
