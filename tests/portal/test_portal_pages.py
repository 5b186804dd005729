"""Portal pages over the ASGI app: forms, verdicts, filters, paging, live fragments."""

import httpx
from litestar import Litestar

from tests.portal.portal_fixtures import PortalBrowser, make_endpoint, make_tenant, open_portal


async def signed_in(app: Litestar, api: httpx.AsyncClient) -> PortalBrowser:
    await make_tenant(api, "acme")
    return await open_portal(app, api, "acme")


async def test_create_form_keeps_input_and_explains_a_refused_url(
    app: Litestar, api: httpx.AsyncClient
) -> None:
    # Given a signed-in tenant
    browser = await signed_in(app, api)

    # When they submit a cloud-metadata URL and a malformed header line
    reply = await browser.client.post(
        "/portal/endpoints",
        data={"_csrf": browser.csrf, "url": "http://169.254.169.254/", "headers": "oops"},
    )

    # Then the form comes back (422) with their input and a reason beside each field
    assert reply.status_code == 422
    assert 'value="http://169.254.169.254/"' in reply.text
    assert "Name: value" in reply.text
    assert (await api.get("/api/v1/tenants/acme/endpoints")).json()["data"] == []


async def test_created_endpoint_has_every_field(app: Litestar, api: httpx.AsyncClient) -> None:
    # Given a signed-in tenant and a catalog entry
    await api.post("/api/v1/event-types", json={"name": "invoice.paid"})
    browser = await signed_in(app, api)

    # When they create an endpoint with filters, a rate limit and a custom header
    reply = await browser.client.post(
        "/portal/endpoints",
        data={
            "_csrf": browser.csrf,
            "url": "https://example.com/hook",
            "description": "Billing",
            "event_types": ["invoice.paid"],
            "channels": "eu, vip",
            "rate_limit": "5",
            "headers": "X-Team: billing",
        },
    )

    # Then they are sent to its page and the API sees exactly that
    assert reply.status_code == 303
    endpoint = (await api.get("/api/v1/tenants/acme/endpoints")).json()["data"][0]
    assert reply.headers["location"] == f"/portal/endpoints/{endpoint['id']}?created=1"
    assert endpoint["event_types"] == ["invoice.paid"]
    assert endpoint["channels"] == ["eu", "vip"]
    assert endpoint["rate_limit"] == 5
    assert endpoint["headers"] == {"X-Team": "billing"}


async def test_url_verdict_fragment(app: Litestar, api: httpx.AsyncClient) -> None:
    # Given a signed-in tenant
    browser = await signed_in(app, api)

    # When the form asks about a private and a public literal address
    private = await browser.get("/portal/endpoints/url-check", params={"url": "http://10.1.2.3/"})
    public = await browser.get("/portal/endpoints/url-check", params={"url": "https://1.1.1.1/"})

    # Then the verdicts differ and say why
    assert "verdict-bad" in private.text and "private" in private.text
    assert "verdict-ok" in public.text


async def test_message_log_filters_by_status_and_pages_with_a_cursor(
    app: Litestar, api: httpx.AsyncClient
) -> None:
    # Given 30 messages, one of another type, with pending deliveries
    browser = await signed_in(app, api)
    await make_endpoint(api, "acme", "https://example.com/a")
    for n in range(30):
        event_type = "user.created" if n == 0 else "invoice.paid"
        await api.post(
            "/api/v1/tenants/acme/messages", json={"event_type": event_type, "payload": {"n": n}}
        )

    # When the log is read page by page, then filtered
    first = await browser.get("/portal/messages")
    older = first.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = await browser.get(older.replace("&amp;", "&"))
    by_type = await browser.get("/portal/messages", params={"event_type": "user.created"})
    succeeded = await browser.get("/portal/messages", params={"status": "succeeded"})

    # Then pages hold 25 then 5 rows; the filters narrow the list
    assert first.text.count('class="row-link') == 25
    assert second.text.count('class="row-link') == 5
    assert "End of the log" in second.text
    assert by_type.text.count('class="row-link') == 1
    assert "No messages" in succeeded.text


async def test_deliveries_fragment_polls_only_while_pending(
    app: Litestar, api: httpx.AsyncClient
) -> None:
    # Given a message whose delivery is pending (no worker runs here)
    browser = await signed_in(app, api)
    endpoint = await make_endpoint(api, "acme", "https://example.com/a")
    message = (await api.post(f"/api/v1/tenants/acme/endpoints/{endpoint}/test")).json()

    # When its deliveries fragment is fetched, then the endpoint is deleted
    live = await browser.get(f"/portal/messages/{message['id']}/deliveries")
    deleted = await browser.htmx("DELETE", f"/portal/endpoints/{endpoint}")

    # Then it polls while pending; the delete sends htmx back to the list
    assert 'hx-trigger="every 1s"' in live.text
    assert deleted.headers["hx-redirect"] == "/portal/endpoints?deleted=1"


async def test_pause_resume_and_branding(app: Litestar, api: httpx.AsyncClient) -> None:
    # Given a branded project and a signed-in tenant with an endpoint
    await api.patch(
        "/api/v1/project",
        json={"branding": {"name": "Acme Cloud", "accent_color": "#0e7490"}},
    )
    browser = await signed_in(app, api)
    endpoint = await make_endpoint(api, "acme", "https://example.com/a")

    # When they pause and resume it
    paused = await browser.htmx("POST", f"/portal/endpoints/{endpoint}/pause")
    resumed = await browser.htmx("POST", f"/portal/endpoints/{endpoint}/resume")
    page = await browser.get("/portal/endpoints")

    # Then each fragment shows the new state, and pages carry the producer's brand
    assert "Paused" in paused.text and "Resume" in paused.text
    assert "Active" in resumed.text and "Pause" in resumed.text
    assert "--accent: #0e7490" in page.text
    assert "Acme Cloud" in page.text


async def test_catalog_shows_schema_example_and_verification(
    app: Litestar, api: httpx.AsyncClient
) -> None:
    # Given an event type with a schema
    schema = {"type": "object", "properties": {"amount": {"type": "integer", "examples": [42]}}}
    await api.post(
        "/api/v1/event-types",
        json={"name": "invoice.paid", "description": "Paid <b>now</b>", "schema": schema},
    )
    browser = await signed_in(app, api)

    # When the catalog is opened
    page = await browser.get("/portal/event-types")

    # Then it shows the description (escaped), the example and how to verify
    assert "Paid &lt;b&gt;now&lt;/b&gt;" in page.text
    assert "&#34;amount&#34;: 42" in page.text or '"amount": 42' in page.text
    assert "standardwebhooks" in page.text and "herald_sdk.webhooks" in page.text


async def test_without_a_session_pages_ask_for_a_new_link(app: Litestar) -> None:
    # Given no session cookie
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://herald.test"
    ) as anonymous:
        # When a portal page is opened
        reply = await anonymous.get("/portal/endpoints")

    # Then a 401 page explains what to do
    assert reply.status_code == 401
    assert "Open the portal again" in reply.text
