"""The portal names its tenant by id only, never by another tenant's uid."""

import httpx
from litestar import Litestar

from app.db.models import Tenant
from app.db.session import Database, commit
from app.ids import new_id
from tests.conftest import ProjectKey
from tests.portal.portal_fixtures import make_endpoint, make_tenant, open_portal


async def test_a_deleted_tenants_session_never_reaches_a_tenant_whose_uid_is_its_id(
    app: Litestar, api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    # Given a portal session of tenant A
    await make_tenant(api, "a")
    a_id = (await api.get("/api/v1/tenants/a")).json()["id"]
    browser = await open_portal(app, api, "a")

    # And a tenant B stored before uids were checked, whose uid is A's id, with an endpoint
    b_id = new_id("tnt")
    async with database.session() as session:
        session.add(Tenant(id=b_id, project_id=project.project_id, uid=a_id, name="Bee Corp"))
        await commit(session)
    b_endpoint = await make_endpoint(api, b_id, "https://b.example.com/hook")

    # When A is deleted and its session keeps browsing
    assert (await api.delete(f"/api/v1/tenants/{a_id}")).status_code == 204
    pages = [
        await browser.get("/portal/endpoints"),
        await browser.get(f"/portal/endpoints/{b_endpoint}"),
        await browser.get("/portal/messages"),
    ]

    # Then no page shows B or its endpoint (and none is an error of ours)
    assert all(page.status_code < 500 for page in pages), [p.status_code for p in pages]
    for page in pages:
        assert "Bee Corp" not in page.text, page.text
        assert b_endpoint not in page.text and "b.example.com" not in page.text
    await browser.client.aclose()
