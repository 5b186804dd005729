"""Framing in Debian's chromium (Playwright): the portal inside another site's iframe.

Herald is served by uvicorn on 127.0.0.1 with HERALD_FRAME_ANCESTORS listing one origin;
two real sites (aiohttp receivers on other ports, so other origins but the same site:
the portal's SameSite=Lax cookie of plain http is still sent) serve a page that frames a
portal link. The listed site gets the portal; chromium refuses the frame on the other,
and refuses the console on both. Screenshots go to ``test-artifacts/portal/``.
"""

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from app.asgi import create_app
from app.config import Settings
from app.db.session import Database
from tests.browser import ARTIFACTS as BROWSER_ARTIFACTS
from tests.browser import chromium_page, needs_chromium
from tests.conftest import wait_until
from tests.portal.portal_fixtures import make_tenant, mint_link
from tests.receivers import Receiver, Reply

pytestmark = [pytest.mark.browser, needs_chromium]

ARTIFACTS = BROWSER_ARTIFACTS / "portal"
UI_TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class Sites:
    listed: Receiver
    unlisted: Receiver


@dataclass(frozen=True)
class Served:
    base_url: str
    sites: Sites


@pytest.fixture
def sites() -> Iterator[Sites]:
    with Receiver() as listed, Receiver() as unlisted:
        yield Sites(listed=listed, unlisted=unlisted)


@pytest.fixture
async def herald(settings: Settings, sites: Sites) -> AsyncIterator[Served]:
    """Herald on a real port; only the ``listed`` site may frame its portal."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    served = settings.with_changes(public_url=base_url, frame_ancestors=(sites.listed.base_url,))
    database = Database(served.database_url)
    server = uvicorn.Server(
        uvicorn.Config(create_app(served, database), log_level="warning", lifespan="on")
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]))

    async def started() -> bool:
        return bool(server.started)

    await wait_until(started, timeout_s=10)
    yield Served(base_url=base_url, sites=sites)
    server.should_exit = True
    await asyncio.wait_for(serving, timeout=15)
    sock.close()
    await database.dispose()


@pytest.fixture
async def page(herald: Served) -> AsyncIterator[Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with chromium_page(UI_TIMEOUT_MS) as opened:
        yield opened


def embedding_page(frames: dict[str, str]) -> Reply:
    """The producer's page: one iframe per ``id: src``, each marking ``body`` when loaded
    (chromium loads a refused frame too, with its error page instead)."""
    iframes = "".join(
        f'<iframe id="{name}" src="{src}" width="1200" height="380"'
        f" onload=\"document.body.dataset.loaded += ' {name}'\"></iframe>"
        for name, src in frames.items()
    )
    html = f'<!doctype html><title>Producer</title><body data-loaded="">{iframes}</body>'
    return Reply(200, body=html.encode(), headers={"content-type": "text/html"})


async def frame_text(page: Any, name: str) -> tuple[str, str]:
    """The URL and the visible text of the iframe ``name``, once it has loaded."""
    await page.wait_for_selector(f"body[data-loaded~={name}]", state="attached")
    frame = await (await page.query_selector(f"#{name}")).content_frame()
    return frame.url, await frame.evaluate("document.body ? document.body.innerText : ''")


async def test_only_a_listed_origin_may_frame_the_portal_and_none_the_console(
    herald: Served, page: Any, api: httpx.AsyncClient
) -> None:
    # Given a tenant and two fresh portal links, each framed by one site, beside the console
    await make_tenant(api, "acme")
    links = [(await mint_link(api, "acme"))["token"] for _ in range(2)]
    console = f"{herald.base_url}/console/login"
    for site, token in zip((herald.sites.listed, herald.sites.unlisted), links, strict=True):
        portal = f"{herald.base_url}/portal/access?token={token}"
        site.script("/embed", then=embedding_page({"portal": portal, "console": console}))

    # When the listed site's page is opened
    await page.goto(herald.sites.listed.url("/embed"))

    # Then the framed portal shows the tenant's endpoints, and the console is refused
    portal_url, portal_text = await frame_text(page, "portal")
    assert portal_url == f"{herald.base_url}/portal/endpoints"
    assert "Endpoints" in portal_text and "Acme" in portal_text
    console_url, console_text = await frame_text(page, "console")
    assert not console_url.startswith(herald.base_url) and "Sign in" not in console_text
    await page.screenshot(path=str(ARTIFACTS / "framed-by-listed-origin.png"))

    # When the unlisted site's page is opened
    await page.goto(herald.sites.unlisted.url("/embed"))

    # Then chromium refuses both frames: neither holds any of Herald's content
    for name in ("portal", "console"):
        url, text = await frame_text(page, name)
        assert not url.startswith(herald.base_url), (name, url)
        assert "Endpoints" not in text and "Sign in" not in text and "Acme" not in text
    await page.screenshot(path=str(ARTIFACTS / "framed-by-unlisted-origin.png"))
