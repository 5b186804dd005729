"""Every HTML response of the portal and console names its charset once."""

import httpx

HTML = "text/html; charset=utf-8"


async def test_portal_401_page_has_one_charset(client: httpx.AsyncClient) -> None:
    # Given no portal session, when a browser opens the portal
    page = await client.get("/portal/endpoints")

    # Then the sign-in-again page says its charset once
    assert page.status_code == 401
    assert page.headers["content-type"] == HTML


async def test_htmx_error_and_console_pages_have_one_charset(client: httpx.AsyncClient) -> None:
    # When htmx hits the portal without a session, and a browser opens the console's sign-in
    toast = await client.get("/portal/endpoints", headers={"HX-Request": "true"})
    login = await client.get("/console/login")

    # Then both are HTML with a single charset
    assert (toast.status_code, toast.headers["content-type"]) == (401, HTML)
    assert (login.status_code, login.headers["content-type"]) == (200, HTML)


async def test_api_401_stays_json(client: httpx.AsyncClient) -> None:
    reply = await client.get("/api/v1/tenants")
    assert (reply.status_code, reply.headers["content-type"]) == (401, "application/json")
