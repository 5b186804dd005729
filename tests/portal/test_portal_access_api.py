"""POST /api/v1/tenants/{tenant}/portal-access: minting magic links, and revoking them."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from litestar import Litestar

from app.config import Settings
from app.db.session import Database
from tests.conftest import make_project
from tests.portal.portal_fixtures import make_tenant, mint_link, open_portal


async def test_default_link_lasts_an_hour_and_points_at_the_portal(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    # Given a tenant
    await make_tenant(api, "acme")

    # When a link is minted without options
    reply = await api.post("/api/v1/tenants/acme/portal-access")

    # Then it is a 201 with a URL under the public URL, expiring in an hour
    assert reply.status_code == 201, reply.text
    link = reply.json()
    assert link["url"] == f"{settings.public_url}/portal/access?token={link['token']}"
    expires_at = datetime.fromisoformat(link["expires_at"])
    assert abs(expires_at - (datetime.now(UTC) + timedelta(hours=1))) < timedelta(seconds=5)


@pytest.mark.parametrize("expires_in", [60, 7 * 24 * 3600])
async def test_expiry_bounds_are_accepted(api: httpx.AsyncClient, expires_in: int) -> None:
    # Given a tenant
    await make_tenant(api, "acme")

    # When a link is minted at the bounds
    link = await mint_link(api, "acme", expires_in=expires_in)

    # Then it expires when asked
    expires_at = datetime.fromisoformat(link["expires_at"])
    expected = datetime.now(UTC) + timedelta(seconds=expires_in)
    assert abs(expires_at - expected) < timedelta(seconds=5)


@pytest.mark.parametrize("expires_in", [59, 7 * 24 * 3600 + 1, 0, -5])
async def test_expiry_outside_bounds_is_422(api: httpx.AsyncClient, expires_in: int) -> None:
    # Given a tenant
    await make_tenant(api, "acme")

    # When a link is asked for with an out-of-range lifetime
    reply = await api.post("/api/v1/tenants/acme/portal-access", json={"expires_in": expires_in})

    # Then it is refused, naming the field
    assert reply.status_code == 422, reply.text
    assert "expires_in" in reply.json()["fields"]


async def test_read_only_link_gives_a_session_that_cannot_change_anything(
    app: Litestar, api: httpx.AsyncClient
) -> None:
    # Given a read-only portal session of a tenant with an endpoint
    await make_tenant(api, "acme")
    created = await api.post(
        "/api/v1/tenants/acme/endpoints", json={"url": "https://example.com/hook"}
    )
    endpoint_id = created.json()["id"]
    browser = await open_portal(app, api, "acme", read_only=True)

    # When it tries to pause the endpoint (with a valid CSRF token)
    reply = await browser.htmx("POST", f"/portal/endpoints/{endpoint_id}/pause")

    # Then it is refused with a clear message and nothing changed
    assert reply.status_code == 403
    assert "read-only" in reply.text
    endpoint = await api.get(f"/api/v1/tenants/acme/endpoints/{endpoint_id}")
    assert endpoint.json()["paused"] is False
    # And its pages say so and offer no actions
    page = await browser.get(f"/portal/endpoints/{endpoint_id}")
    assert "Read-only" in page.text
    assert "/pause" not in page.text
    # and no way to the signing secret, which a read-only link must not hand out
    assert f"/portal/endpoints/{endpoint_id}/secret" not in page.text
    secret = await browser.htmx("GET", f"/portal/endpoints/{endpoint_id}/secret")
    assert secret.status_code == 403
    assert "whsec_" not in secret.text


async def test_another_projects_tenant_is_404(
    api: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # Given a tenant of another project
    other = await make_project(database, settings, "other")
    async with httpx.AsyncClient(
        transport=api._transport, base_url="http://herald.test", headers=other.headers
    ) as other_api:
        await make_tenant(other_api, "theirs")

    # When this project's key asks for a link to it
    reply = await api.post("/api/v1/tenants/theirs/portal-access", json={})

    # Then it does not exist for this key
    assert reply.status_code == 404
    assert reply.json()["code"] == "not_found"


async def test_unknown_fields_and_no_key_are_refused(api: httpx.AsyncClient) -> None:
    # Given a tenant
    await make_tenant(api, "acme")

    # When asked with an unknown field, and without an API key
    unknown = await api.post("/api/v1/tenants/acme/portal-access", json={"admin": True})
    anonymous = await api.post(
        "/api/v1/tenants/acme/portal-access", json={}, headers={"Authorization": ""}
    )

    # Then both are refused
    assert unknown.status_code in (400, 422)
    assert anonymous.status_code == 401


async def test_revoking_portal_access_is_204_and_404_for_unknown_or_foreign_tenants(
    api: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # Given a tenant here, and one in another project
    await make_tenant(api, "acme")
    other = await make_project(database, settings, "other")
    async with httpx.AsyncClient(
        transport=api._transport, base_url="http://herald.test", headers=other.headers
    ) as other_api:
        await make_tenant(other_api, "theirs")

    # When this project's key revokes portal access of each, and of a tenant nobody has
    replies = [
        await api.post(f"/api/v1/tenants/{uid}/portal-access/revoke")
        for uid in ("acme", "theirs", "nobody")
    ]

    # Then its own tenant's is revoked, the others are not found
    assert [r.status_code for r in replies] == [204, 404, 404]
    assert replies[1].json()["code"] == "not_found"
