"""Driving Debian's chromium with Playwright (never a downloaded browser)."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
# Flags measured on this machine: without the networking ones chromium keeps trying
# (and failing) to reach Google's hosts.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Skipped only on a developer machine without chromium; in CI a missing browser fails.
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("CI") != "true",
    reason="Debian's chromium is not installed (apt-get install -y chromium); CI installs it",
)


@asynccontextmanager
async def chromium_page(timeout_ms: int) -> AsyncIterator[Any]:
    """A page (1280 × 900) of a fresh headless chromium, whose waits give up after
    ``timeout_ms``; the browser is closed on exit."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(timeout_ms)
        try:
            yield await context.new_page()
        finally:
            await browser.close()
