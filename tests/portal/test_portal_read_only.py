"""Read-only portal sessions: they may sign out, and see no credentials of an endpoint."""

import httpx
from litestar import Litestar

from tests.portal.portal_fixtures import make_endpoint, make_tenant, open_portal

SECRET_URL = "https://hook-user:hook-pass@example.com/hooks?token=tok-secret"
MASKED_URL = "https://••••@example.com/hooks?token=••••"
SECRETS = ("hook-user", "hook-pass", "tok-secret", "header-secret")


async def test_a_read_only_session_can_sign_out(app: Litestar, api: httpx.AsyncClient) -> None:
    # Given a read-only portal session
    await make_tenant(api, "acme")
    browser = await open_portal(app, api, "acme", read_only=True)

    # When the sign-out form is posted without its token, then as the page posts it
    forged = await browser.client.post("/portal/logout")
    still_in = await browser.get("/portal/endpoints")
    signed_out = await browser.client.post("/portal/logout", data={"_csrf": browser.csrf})

    # Then the forged one is refused, and the real one ends the session
    assert (forged.status_code, still_in.status_code) == (403, 200)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/portal/signed-out"
    assert "herald_portal" not in browser.client.cookies
    assert (await browser.get("/portal/endpoints")).status_code == 401


async def test_a_read_only_session_sees_no_header_values_or_url_credentials(
    app: Litestar, api: httpx.AsyncClient
) -> None:
    # Given an endpoint with credentials in its URL and a secret custom header, and a
    # message to it
    await make_tenant(api, "acme")
    endpoint = await make_endpoint(api, "acme", SECRET_URL, headers={"X-Api-Key": "header-secret"})
    message = await api.post(
        "/api/v1/tenants/acme/messages", json={"event_type": "a.b", "payload": {"n": 1}}
    )
    assert message.status_code == 202, message.text
    pages = [
        "/portal/endpoints",
        f"/portal/endpoints/{endpoint}",
        f"/portal/messages/{message.json()['id']}",
        f"/portal/messages/{message.json()['id']}/deliveries",
    ]
    reader = await open_portal(app, api, "acme", read_only=True)
    editor = await open_portal(app, api, "acme")

    # When each opens the endpoint list, the endpoint and the message
    read = [await reader.get(path) for path in pages]
    edited = [await editor.get(path) for path in pages]

    # Then the read-only session sees the URL and header values masked, everywhere
    assert [r.status_code for r in read] == [200, 200, 200, 200]
    for reply in read:
        assert not [secret for secret in SECRETS if secret in reply.text], reply.url
        assert MASKED_URL in reply.text
    assert "X-Api-Key: ••••" in read[1].text
    # and cannot open the edit form, which holds them
    form = await reader.get(f"/portal/endpoints/{endpoint}/edit")
    assert form.status_code == 403 and "read-only" in form.text
    assert not [secret for secret in SECRETS if secret in form.text]
    # while the editing session, which may change them, sees them as they are
    assert all(SECRET_URL in reply.text for reply in edited)
    assert "X-Api-Key: header-secret" in edited[1].text
