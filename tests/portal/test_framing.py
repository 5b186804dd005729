"""Who may frame the web UIs (HERALD_FRAME_ANCESTORS): headers and cookies over HTTP.

The same refusal in a real browser is in ``test_framing_browser.py``.
"""

from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar

from app.asgi import create_app
from app.config import ConfigError, Settings, load_settings
from app.db.session import Database
from tests.herald_cli import run_cli
from tests.portal.portal_fixtures import make_tenant, mint_link

LISTED = "https://app.example.com https://admin.example.com:8443"


def frame_policy(reply: httpx.Response) -> tuple[str, str | None]:
    """The ``frame-ancestors`` directive of the reply's CSP, and its X-Frame-Options."""
    directives = [d.strip() for d in reply.headers["content-security-policy"].split(";")]
    [ancestors] = [d for d in directives if d.startswith("frame-ancestors")]
    return ancestors, reply.headers.get("x-frame-options")


@pytest.fixture
async def embedded_app(settings: Settings) -> AsyncIterator[Litestar]:
    """Herald on https with HERALD_FRAME_ANCESTORS listing two origins."""
    listed = load_settings({"HERALD_FRAME_ANCESTORS": LISTED}).frame_ancestors
    served = settings.with_changes(public_url="https://hooks.example.com", frame_ancestors=listed)
    database = Database(served.database_url)
    yield create_app(served, database)
    await database.dispose()


def browser_for(app: Litestar) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://herald.test")


async def test_unset_or_empty_means_nobody_may_frame_the_portal(
    app: Litestar, api: httpx.AsyncClient
) -> None:
    # Given the variable unset, empty, or 'none'
    assert [
        load_settings(environ).frame_ancestors
        for environ in ({}, {"HERALD_FRAME_ANCESTORS": " "}, {"HERALD_FRAME_ANCESTORS": "'none'"})
    ] == [(), (), ()]

    # When portal pages are opened on the default settings (a refused link included)
    await make_tenant(api, "acme")
    token = (await mint_link(api, "acme"))["token"]
    async with browser_for(app) as browser:
        replies = [
            await browser.get("/portal/access", params={"token": token}),
            await browser.get("/portal/endpoints"),
            await browser.get("/portal/access", params={"token": token}),
            await browser.get("/portal/signed-out"),
        ]

    # Then no origin may frame any of them
    assert [r.status_code for r in replies] == [303, 200, 401, 200]
    assert {frame_policy(r) for r in replies} == {("frame-ancestors 'none'", "DENY")}


async def test_listed_origins_may_frame_the_portal_with_a_cross_site_cookie(
    embedded_app: Litestar, api: httpx.AsyncClient
) -> None:
    # Given Herald on https listing the producer's origins; When a portal link is opened
    await make_tenant(api, "acme")
    token = (await mint_link(api, "acme"))["token"]
    async with browser_for(embedded_app) as browser:
        opened = await browser.get("/portal/access", params={"token": token})
        page = await browser.get("/portal/endpoints")

    # Then exactly those origins may frame it (X-Frame-Options cannot list origins)
    assert page.status_code == 200, page.text
    for reply in (opened, page):
        assert frame_policy(reply) == (f"frame-ancestors {LISTED}", None)
    # and the session cookie is sent from inside their cross-site iframe
    cookie = opened.headers["set-cookie"].lower()
    assert "secure" in cookie and "samesite=none" in cookie


async def test_the_console_is_never_framed_and_its_cookie_stays_same_site(
    embedded_app: Litestar,
) -> None:
    # Given Herald on https listing origins that may frame the portal
    async with browser_for(embedded_app) as browser:
        # When the console's login page, a refused form post, a signed-out htmx request
        # (an HX-Redirect without a body) and an unknown console page are requested
        login = await browser.get("/console/login")
        refused = await browser.post("/console/login", data={"email": "a@b.c", "password": "x"})
        htmx = await browser.get("/console/replays", headers={"HX-Request": "true"})
        missing = await browser.get("/console/replays/rpl_missing")

    # Then none may be framed by anyone, whatever the setting
    assert [r.status_code for r in (login, refused, htmx, missing)] == [200, 403, 204, 303]
    for reply in (login, refused, htmx, missing):
        assert frame_policy(reply) == ("frame-ancestors 'none'", "DENY")
    # and the rest of the page's policy stands
    assert "script-src 'self'" in login.headers["content-security-policy"]
    # and the console's cookie is Secure but never sent from another site's frame
    cookie = login.headers["set-cookie"].lower()
    assert "herald_console=" in cookie and "secure" in cookie and "samesite=lax" in cookie


@pytest.mark.parametrize(
    "value",
    [
        "https://app.example.com/embed",  # a path: not an origin
        "https://app.example.com;script-src",  # would add a directive
        "https://app.example.com,https://b.example.com",  # commas, not spaces
        "'none' https://app.example.com",  # 'none' only alone
        "javascript:",
    ],
)
def test_a_value_that_is_not_a_list_of_origins_is_refused(value: str) -> None:
    # When the settings are read with it; Then a ConfigError names the variable and value
    with pytest.raises(ConfigError, match=r"HERALD_FRAME_ANCESTORS: .* is not an origin"):
        load_settings({"HERALD_FRAME_ANCESTORS": value})


async def test_herald_refuses_to_start_with_a_bad_list(settings: Settings) -> None:
    # When a command starts with a path where an origin belongs
    code, _, err = await run_cli(
        settings, "migrate", env={"HERALD_FRAME_ANCESTORS": "https://app.example.com/embed"}
    )

    # Then it stops at once, saying which variable and why
    assert code == 2
    assert "HERALD_FRAME_ANCESTORS: 'https://app.example.com/embed' is not an origin" in err
