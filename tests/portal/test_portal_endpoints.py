"""The portal's endpoint pages: the list in a fixed number of queries, the limit explained."""

from collections.abc import Iterator

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import event

from app.db.models import Delivery, Message
from app.db.session import Database, commit
from app.ids import new_id
from tests.conftest import ProjectKey
from tests.portal.portal_fixtures import PortalBrowser, make_endpoint, make_tenant, open_portal

RECEIVER = "https://1.1.1.1/hooks"


async def signed_in(app: Litestar, api: httpx.AsyncClient) -> PortalBrowser:
    await make_tenant(api, "acme")
    return await open_portal(app, api, "acme")


@pytest.fixture
def statements(app: Litestar) -> Iterator[list[str]]:
    """Every statement the app's engine runs while the test holds this list."""
    seen: list[str] = []

    def on_execute(*args: object) -> None:
        seen.append(str(args[2]))

    engine = app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    yield seen
    event.remove(engine, "before_cursor_execute", on_execute)


async def add_endpoints(api: httpx.AsyncClient, count: int) -> list[str]:
    return [await make_endpoint(api, "acme", f"{RECEIVER}/{n}") for n in range(count)]


async def add_delivery(
    database: Database, project: ProjectKey, tenant_id: str, endpoint_id: str, status: str
) -> None:
    async with database.session() as session:
        message = Message(
            id=new_id("msg"),
            project_id=project.project_id,
            tenant_id=tenant_id,
            event_type="invoice.paid",
            payload=b"{}",
        )
        session.add(message)
        await session.flush()
        session.add(
            Delivery(
                id=new_id("dlv"),
                project_id=project.project_id,
                tenant_id=tenant_id,
                message_id=message.id,
                endpoint_id=endpoint_id,
                status=status,
            )
        )
        await commit(session)


async def list_page(browser: PortalBrowser, statements: list[str]) -> tuple[int, str]:
    """The endpoint list's HTML, and how many statements showing it took."""
    statements.clear()
    page = await browser.get("/portal/endpoints")
    assert page.status_code == 200, page.text
    return len(statements), page.text


async def test_the_endpoint_list_takes_the_same_queries_for_3_or_30_endpoints(
    app: Litestar,
    api: httpx.AsyncClient,
    database: Database,
    project: ProjectKey,
    statements: list[str],
) -> None:
    # Given a signed-in tenant with 3 endpoints, each with a delivery
    browser = await signed_in(app, api)
    first = await add_endpoints(api, 3)
    tenant_id = (await api.get("/api/v1/tenants/acme")).json()["id"]
    for endpoint_id, status in zip(first, ["succeeded", "failed", "succeeded"], strict=True):
        await add_delivery(database, project, tenant_id, endpoint_id, status)

    # When the list is shown with 3, then with 30 endpoints
    with_3, _ = await list_page(browser, statements)
    await add_endpoints(api, 27)
    with_30, page = await list_page(browser, statements)

    # Then it runs as many statements both times, and still shows each one's success rate
    assert with_3 == with_30, statements
    assert with_30 <= 10, statements
    assert page.count('class="row-link"') == 30
    assert page.count('class="rate">100.0 %') == 2
    assert page.count('class="rate">0.0 %') == 1
    assert page.count("No traffic") == 27


async def test_creating_past_the_limit_in_the_portal_explains_it(
    app: Litestar, api: httpx.AsyncClient
) -> None:
    # Given a project allowing 2 endpoints per tenant, and a signed-in tenant holding 2
    patched = await api.patch("/api/v1/project", json={"max_endpoints_per_tenant": 2})
    assert patched.status_code == 200, patched.text
    browser = await signed_in(app, api)
    await add_endpoints(api, 2)

    # When they submit a third through the form
    reply = await browser.client.post(
        "/portal/endpoints", data={"_csrf": browser.csrf, "url": f"{RECEIVER}/third"}
    )

    # Then the form comes back with their input and a clear message, and nothing is created
    assert reply.status_code == 409
    assert "You have reached the most endpoints your account allows" in reply.text
    assert f'value="{RECEIVER}/third"' in reply.text
    assert "Please fix the highlighted fields" not in reply.text
    listed = (await api.get("/api/v1/tenants/acme/endpoints")).json()["data"]
    assert len(listed) == 2

    # And once the producer raises the limit, the same form creates it
    await api.patch("/api/v1/project", json={"max_endpoints_per_tenant": 3})
    again = await browser.client.post(
        "/portal/endpoints", data={"_csrf": browser.csrf, "url": f"{RECEIVER}/third"}
    )
    assert again.status_code == 303
