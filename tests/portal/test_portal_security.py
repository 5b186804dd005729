"""Portal security: links, sessions, tenant isolation, CSRF, escaping, framing."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select, update

from app.asgi import create_app
from app.config import Settings
from app.db.models import Attempt, Delivery
from app.db.session import Database, commit
from app.ids import new_id
from app.portal_access.service import LINK_PURPOSE
from app.portal_access.signer import signer_for
from tests.portal.portal_fixtures import (
    PortalBrowser,
    make_endpoint,
    make_tenant,
    mint_link,
    open_portal,
)

HOSTILE = "<script>alert('pwned')</script>"


def fresh_client(app: Litestar) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://herald.test")


async def test_tampered_token_is_refused(app: Litestar, api: httpx.AsyncClient) -> None:
    # Given a valid link whose claims are changed to read-write… or whose MAC is cut
    await make_tenant(api, "acme")
    token = (await mint_link(api, "acme", read_only=True))["token"]
    claims, mac = token.split(".")
    tampered = [claims[:-2] + ("AA" if claims[-2:] != "AA" else "BB") + "." + mac, claims, ""]

    # When each is opened
    async with fresh_client(app) as browser:
        replies = [await browser.get("/portal/access", params={"token": t}) for t in tampered]

        # Then none starts a session
        assert [r.status_code for r in replies] == [401, 401, 401]
        assert "herald_portal" not in browser.cookies
        assert (await browser.get("/portal/endpoints")).status_code == 401


async def test_expired_token_is_refused(
    app: Litestar, api: httpx.AsyncClient, settings: Settings
) -> None:
    # Given a token correctly signed for this tenant but expired a second ago
    await make_tenant(api, "acme")
    link = await mint_link(api, "acme")
    signer = signer_for(settings.secret_key or "", LINK_PURPOSE)
    claims = signer.unsign(link["token"], datetime.now(UTC))
    expired = signer.sign(claims, datetime.now(UTC) - timedelta(seconds=1))

    # When it is opened
    async with fresh_client(app) as browser:
        reply = await browser.get("/portal/access", params={"token": expired})

    # Then it is refused, saying why
    assert reply.status_code == 401
    assert "expired" in reply.text


async def test_token_works_once_and_leaves_the_address_bar(
    app: Litestar, api: httpx.AsyncClient
) -> None:
    # Given a link
    await make_tenant(api, "acme")
    token = (await mint_link(api, "acme"))["token"]

    async with fresh_client(app) as first, fresh_client(app) as second:
        # When it is opened twice
        opened = await first.get("/portal/access", params={"token": token})
        reused = await second.get("/portal/access", params={"token": token})

        # Then the first redirects to a URL without the token, with an HttpOnly cookie
        # scoped to /portal; the second is refused
        assert opened.status_code == 303
        assert opened.headers["location"] == "/portal/endpoints"
        cookie = opened.headers["set-cookie"]
        assert "HttpOnly" in cookie and "Path=/portal" in cookie
        assert opened.headers["referrer-policy"] == "no-referrer"
        assert reused.status_code == 401
        assert "already been used" in reused.text


async def test_https_deployment_sets_cross_site_iframe_cookies(
    settings: Settings, api: httpx.AsyncClient
) -> None:
    # Given Herald served on https, embedded by the producer
    https = settings.with_changes(
        public_url="https://hooks.example.com", frame_ancestors=("https://app.example.com",)
    )
    database = Database(https.database_url)
    app = create_app(https, database)
    await make_tenant(api, "acme")
    token = (await mint_link(api, "acme"))["token"]

    # When the link is opened
    async with fresh_client(app) as browser:
        reply = await browser.get("/portal/access", params={"token": token})
    await database.dispose()

    # Then the cookie survives a cross-site iframe and framing is limited to the producer
    cookie = reply.headers["set-cookie"].lower()
    assert "secure" in cookie and "samesite=none" in cookie
    assert "frame-ancestors https://app.example.com" in reply.headers["content-security-policy"]


@pytest.fixture
async def two_tenants(
    app: Litestar, api: httpx.AsyncClient, database: Database
) -> tuple[PortalBrowser, dict[str, str]]:
    """Tenant A's portal session, and the ids of tenant B's objects."""
    await make_tenant(api, "tenant-a")
    await make_tenant(api, "tenant-b")
    endpoint = await make_endpoint(api, "tenant-b", "https://example.com/b")
    message = (
        await api.post(
            "/api/v1/tenants/tenant-b/messages",
            json={"event_type": "invoice.paid", "payload": {"n": 1}},
        )
    ).json()["id"]
    replay = (
        await api.post(
            f"/api/v1/tenants/tenant-b/endpoints/{endpoint}/recover",
            json={"since": "2020-01-01T00:00:00Z"},
        )
    ).json()["id"]
    browser = await open_portal(app, api, "tenant-a")
    return browser, {"endpoint": endpoint, "message": message, "replay": replay}


async def test_tenant_a_gets_404_on_every_tenant_b_url(
    two_tenants: tuple[PortalBrowser, dict[str, str]], api: httpx.AsyncClient
) -> None:
    # Given tenant A's session and tenant B's endpoint, message and recovery
    browser, b = two_tenants
    endpoint, message = f"/portal/endpoints/{b['endpoint']}", f"/portal/messages/{b['message']}"
    reads = [
        endpoint,
        f"{endpoint}/edit",
        f"{endpoint}/secret",
        message,
        f"{message}/deliveries",
        f"/portal/recoveries/{b['replay']}",
    ]
    actions = [
        ("POST", f"{endpoint}/pause", {}),
        ("POST", f"{endpoint}/resume", {}),
        ("POST", f"{endpoint}/enable", {}),
        ("POST", f"{endpoint}/disable", {}),
        ("POST", f"{endpoint}/secret/rotate", {}),
        ("POST", f"{endpoint}/test", {}),
        ("POST", f"{endpoint}/recover", {"since": "2020-01-01T00:00"}),
        ("POST", endpoint, {"url": "https://evil.example.com/"}),
        ("POST", f"{message}/endpoints/{b['endpoint']}/retry", {}),
        ("DELETE", endpoint, {}),
    ]

    # When A reads and acts on each of B's URLs
    statuses = {path: (await browser.get(path)).status_code for path in reads}
    for method, path, form in actions:
        reply = await browser.htmx(method, path, data=form or None)
        statuses[f"{method} {path}"] = reply.status_code

    # Then every one is a 404, and B's endpoint is untouched
    assert set(statuses.values()) == {404}, statuses
    found = await api.get(f"/api/v1/tenants/tenant-b/endpoints/{b['endpoint']}")
    assert found.status_code == 200
    assert found.json()["url"] == "https://example.com/b"
    assert found.json()["paused"] is False


async def test_a_form_post_without_the_csrf_token_is_refused(
    app: Litestar, api: httpx.AsyncClient
) -> None:
    # Given a signed-in tenant with an endpoint
    await make_tenant(api, "acme")
    endpoint = await make_endpoint(api, "acme", "https://example.com/a")
    browser = await open_portal(app, api, "acme")

    # When forms are posted without a token, and with a wrong one
    missing = await browser.client.post(
        "/portal/endpoints", data={"url": "https://example.com/new"}
    )
    wrong = await browser.client.post(
        f"/portal/endpoints/{endpoint}/pause", headers={"X-CSRF-Token": "0" * 64}
    )
    deleted = await browser.client.delete(f"/portal/endpoints/{endpoint}")

    # Then all are refused and nothing changed
    assert [missing.status_code, wrong.status_code, deleted.status_code] == [403, 403, 403]
    assert "csrf" in missing.text.lower() or "expired" in missing.text
    listed = await api.get("/api/v1/tenants/acme/endpoints")
    assert [e["id"] for e in listed.json()["data"]] == [endpoint]
    assert listed.json()["data"][0]["paused"] is False


async def test_hostile_payload_and_response_body_render_as_text(
    app: Litestar, api: httpx.AsyncClient, database: Database
) -> None:
    # Given a message whose payload, and an attempt whose response body, hold a script
    await make_tenant(api, "acme")
    await make_endpoint(api, "acme", "https://example.com/a")
    message = (
        await api.post(
            "/api/v1/tenants/acme/messages",
            json={"event_type": "invoice.paid", "payload": {"note": HOSTILE}},
        )
    ).json()
    await _record_attempt(database, message["id"], body=HOSTILE)
    browser = await open_portal(app, api, "acme")

    # When the message page and its deliveries fragment are shown
    page = await browser.get(f"/portal/messages/{message['id']}")
    fragment = await browser.get(f"/portal/messages/{message['id']}/deliveries")

    # Then the script is escaped text, never markup; scripts only load from us
    for html in (page.text, fragment.text):
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(" in html
    assert "script-src 'self'" in page.headers["content-security-policy"]


async def _record_attempt(database: Database, message_id: str, body: str) -> None:
    """An attempt as the worker would write it, with ``body`` as the response."""
    async with database.session() as session:
        delivery = await session.scalar(select(Delivery).where(Delivery.message_id == message_id))
        assert delivery is not None
        session.add(
            Attempt(
                id=new_id("atm"),
                project_id=delivery.project_id,
                tenant_id=delivery.tenant_id,
                delivery_id=delivery.id,
                message_id=message_id,
                endpoint_id=delivery.endpoint_id,
                status="failed",
                response_status_code=500,
                response_body=body,
                duration_ms=12,
                error_kind="http_status",
                error=body,
            )
        )
        await session.execute(
            update(Delivery)
            .where(Delivery.id == delivery.id)
            .values(status="failed", attempt_count=1, next_attempt_at=None)
        )
        await commit(session)
