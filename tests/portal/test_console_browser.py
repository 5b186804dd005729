"""The console in a real browser (Debian's chromium via Playwright) against `herald dev`:
staff sign-in, then a bulk replay whose progress reaches 100 %. Screenshots go to
test-artifacts/."""

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.db.base import utcnow
from app.db.session import Database
from tests.browser import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, needs_chromium
from tests.herald_cli import run_cli
from tests.receivers import Receiver
from tests.replay_seed import make_tenant_endpoint, seed_deliveries

pytestmark = [pytest.mark.browser, needs_chromium]

REPO = Path(__file__).resolve().parents[2]

EMAIL, PASSWORD = "support@example.com", "correct horse battery"


# Where the search page's pieces sit (measured in the page, CSS pixels).
SEARCH_LAYOUT = """() => {
  const box = (selector) => document.querySelector(selector).getBoundingClientRect();
  const wrap = document.querySelector("#results").parentElement;
  const input = document.querySelector("#message");
  const style = getComputedStyle(input);
  const context = document.createElement("canvas").getContext("2d");
  context.font = style.font;
  const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return {
    published_right: box("#results th:last-child").right,
    wrap_right: wrap.getBoundingClientRect().right,
    scrolls: wrap.scrollWidth > wrap.clientWidth,
    since_top: box("#since").top,
    until_top: box("#until").top,
    placeholder_fits: context.measureText(input.placeholder).width <= room,
  };
}"""


@dataclass(frozen=True)
class DevServer:
    url: str
    database_url: str
    api_key: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[DevServer]:
    """`herald dev` in its own process and directory, on a free port."""
    port, database_url = free_port(), f"sqlite+aiosqlite:///{tmp_path}/herald.db"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO),
        "HERALD_DATABASE_URL": database_url,
        "HERALD_RETRY_SCHEDULE": "0,1,1",
        "HERALD_SCHEDULER_INTERVAL": "0.2",
        "HERALD_LOG_LEVEL": "WARNING",
    }
    log = (tmp_path / "dev.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "dev", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        key_file = tmp_path / ".herald" / "dev-api-key"
        for _ in range(300):
            if process.poll() is not None:
                raise AssertionError((tmp_path / "dev.log").read_text())
            try:
                if key_file.exists() and httpx.get(f"http://127.0.0.1:{port}/healthz").is_success:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise AssertionError("herald dev did not start: " + (tmp_path / "dev.log").read_text())
        yield DevServer(f"http://127.0.0.1:{port}", database_url, key_file.read_text().strip())
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


@pytest.fixture
async def dev_api(dev_server: DevServer) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {dev_server.api_key}"}
    async with httpx.AsyncClient(base_url=dev_server.url, headers=headers) as client:
        yield client


async def test_staff_sign_in_and_a_bulk_replay_reaching_100_percent(
    dev_server: DevServer, dev_api: httpx.AsyncClient, receiver: Receiver
) -> None:
    from playwright.async_api import async_playwright, expect

    # Given a staff login, and 40 exhausted deliveries to a receiver that now answers 200
    project_id = (await dev_api.get("/api/v1/project")).json()["id"]
    cli_settings = Settings(database_url=dev_server.database_url)
    created = await run_cli(
        cli_settings, "staff", "create", EMAIL, "--project", project_id,
        env={"HERALD_STAFF_PASSWORD": PASSWORD},
    )  # fmt: skip
    assert created[0] == 0, created[2]
    tenant, endpoint = await make_tenant_endpoint(dev_api, "acme", receiver.url("/hook"))
    database = Database(dev_server.database_url)
    await seed_deliveries(database, project_id, tenant, endpoint, 40, status="exhausted")
    await database.dispose()
    ARTIFACTS.mkdir(exist_ok=True)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            # When staff sign in
            await page.goto(f"{dev_server.url}/console/login")
            await page.get_by_label("E-mail").fill(EMAIL)
            await page.get_by_label("Password").fill(PASSWORD)
            await page.screenshot(path=str(ARTIFACTS / "console-login.png"))
            await page.get_by_role("button", name="Sign in").click()
            # Then the search page greets them
            await expect(page.get_by_role("heading", name="Search deliveries")).to_be_visible()
            await expect(page.locator(".who")).to_have_text(EMAIL)
            await page.get_by_label("Tenant uid or id").fill("acme")
            await page.get_by_role("button", name="Search").click()
            await expect(page.locator("tbody tr")).to_have_count(40)
            await page.screenshot(path=str(ARTIFACTS / "console-search.png"), full_page=True)
            # and at 1 280 px the table fits, "Until" shares a row, placeholders show whole
            layout = await page.evaluate(SEARCH_LAYOUT)
            assert layout["published_right"] <= layout["wrap_right"] <= 1280, layout
            assert not layout["scrolls"], layout
            assert layout["until_top"] == layout["since_top"], layout
            assert layout["placeholder_fits"], layout
            await page.locator("tbody a.row-link").first.click()
            await expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()
            await page.screenshot(path=str(ARTIFACTS / "console-message.png"), full_page=True)

            # When they choose a window on the bulk replay page, the count appears first
            await page.get_by_role("link", name="Bulk replay").click()
            since = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
            await page.get_by_label("Published from (UTC)").fill(since)
            await expect(page.locator("#match-count")).to_have_attribute("data-count", "40")
            await page.screenshot(path=str(ARTIFACTS / "console-replay-form.png"), full_page=True)
            # and an unknown tenant is an error, with the button disabled until fixed
            await page.get_by_label("Tenant uid or id").fill("nobody")
            await expect(page.locator("#preview.notice-bad")).to_contain_text("no tenant")
            await expect(page.locator("#start-replay")).to_be_disabled()
            await page.screenshot(path=str(ARTIFACTS / "console-replay-unknown-tenant.png"))
            await page.get_by_label("Tenant uid or id").fill("")
            await expect(page.locator("#match-count")).to_have_attribute("data-count", "40")
            await page.get_by_role("button", name="Replay these deliveries").click()

            # Then the progress bar, polled by htmx, reaches 100 % and the outcome shows
            # every re-queued delivery delivered
            await expect(page.locator("#replay-percent")).to_contain_text("100 %", timeout=30_000)
            await expect(page.locator("#replay-succeeded")).to_have_text("40", timeout=30_000)
            await expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
            await page.screenshot(path=str(ARTIFACTS / "console-replay-done.png"), full_page=True)
        finally:
            await browser.close()
    assert len({r.headers["webhook-id"] for r in receiver.requests_to("/hook")}) == 40
    await asyncio.sleep(0.5)
    assert len(receiver.requests_to("/hook")) == 40
