"""Portal sessions end when they should: when the producer revokes the tenant's portal
access, and when the link that started them expires."""

from datetime import datetime, timedelta

import httpx
import pytest
from litestar import Litestar

from portal import sessions
from tests.portal.portal_fixtures import PortalBrowser, make_tenant, mint_link, open_portal


def fresh_client(app: Litestar) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://herald.test")


async def endpoints_page(browser: PortalBrowser) -> int:
    return (await browser.get("/portal/endpoints")).status_code


async def test_revoking_portal_access_ends_the_tenants_sessions_and_links(
    app: Litestar, api: httpx.AsyncClient
) -> None:
    # Given two open sessions of acme (one read-only), an unopened acme link, and a
    # session of another tenant
    await make_tenant(api, "acme")
    await make_tenant(api, "globex")
    acme = await open_portal(app, api, "acme")
    acme_read_only = await open_portal(app, api, "acme", read_only=True)
    unopened = (await mint_link(api, "acme"))["token"]
    globex = await open_portal(app, api, "globex")

    # When the producer revokes acme's portal access
    reply = await api.post("/api/v1/tenants/acme/portal-access/revoke")

    # Then acme's sessions are over, for pages and for actions, and its unopened link is
    # refused; globex is untouched
    assert reply.status_code == 204, reply.text
    assert [await endpoints_page(acme), await endpoints_page(acme_read_only)] == [401, 401]
    write = await acme.htmx("POST", "/portal/endpoints", data={"url": "https://example.com/x"})
    assert write.status_code == 401
    async with fresh_client(app) as browser:
        refused = await browser.get("/portal/access", params={"token": unopened})
    assert refused.status_code == 401 and "revoked" in refused.text
    assert await endpoints_page(globex) == 200
    # And a link minted afterwards works as usual
    again = await open_portal(app, api, "acme")
    assert await endpoints_page(again) == 200
    for browser in (acme, acme_read_only, globex, again):
        await browser.client.aclose()


async def test_a_session_ends_when_its_link_expires(
    app: Litestar, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a session opened from a link that expires in 60 s
    await make_tenant(api, "acme")
    link = await mint_link(api, "acme", expires_in=60)
    expires_at = datetime.fromisoformat(link["expires_at"])
    async with fresh_client(app) as client:
        opened = await client.get("/portal/access", params={"token": link["token"]})
        browser = PortalBrowser(client=client, csrf="")

        # Then its cookie is kept no longer than the link lives
        assert opened.status_code == 303
        max_age = int(opened.headers["set-cookie"].split("Max-Age=")[1].split(";")[0])
        assert 0 < max_age <= 60

        # And the session is accepted until the link's expires_at, and refused from then on
        # (the clock the session reader sees is moved; nothing sleeps)
        for offset_s, status in ((-1, 200), (0, 401), (1, 401)):
            moment = expires_at + timedelta(seconds=offset_s)
            monkeypatch.setattr(sessions, "utcnow", lambda moment=moment: moment)
            assert await endpoints_page(browser) == status, offset_s
