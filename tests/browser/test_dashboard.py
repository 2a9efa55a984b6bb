"""The dashboard in a real headless Chromium: it loads, shows the database's numbers, updates
itself, shows user data as text, and logs no console errors.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright
from pydantic import SecretStr

from services.monitor.access import TOKEN_COOKIE
from services.monitor.config import MonitorSettings
from shared.bus import Bus
from shared.events import FileCollected, RecordType
from tests.integration.test_monitor_api import (
    AT,
    DAY,
    EVENTS_PUBLISHED,
    events_stored,
    insert_article,
    publish_scenario,
    running,
)
from tests.polling import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # root in a container has no user namespaces for the sandbox
    "--disable-dev-shm-usage",  # containers give /dev/shm 64 MB
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE_TITLE = "Mustang <script>window.pwned=1</script> <b>buyers</b> guide"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Return Debian's Chromium driven by Playwright (no browser download)."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def _screenshot(page: Page) -> None:
    """Take a picture of the page; save it only when asked, at DASHBOARD_SCREENSHOT.

    ``DASHBOARD_SCREENSHOT=docs/dashboard.png`` renews the docs' picture; a plain run leaves the
    tracked file alone.
    """
    target = os.environ.get("DASHBOARD_SCREENSHOT")
    await page.set_viewport_size({"width": 1400, "height": 1100})
    picture = await page.screenshot(path=target or None, full_page=True)
    assert len(picture) > 10_000  # a real picture, not an empty page


async def _text(page: Page, selector: str, expected: str) -> bool:
    return (await page.text_content(selector)) == expected


async def test_dashboard_shows_database_numbers_updates_and_escapes(
    browser: Browser, bus: Bus, api_settings: MonitorSettings, database_url: str
) -> None:
    """The page shows stored totals, refreshes by itself, and shows a <script> title as text."""
    await insert_article(database_url, HOSTILE_TITLE)
    problems: list[str] = []
    async with running(api_settings) as base:
        await publish_scenario(bus)
        await eventually(lambda: events_stored(database_url, EVENTS_PUBLISHED))
        page = await browser.new_page()

        def on_console(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                problems.append(f"{message.type}: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
        page.on(
            "response",
            lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None,
        )
        await page.goto(f"{base}/?date={DAY.isoformat()}")
        await eventually(lambda: _text(page, "#stat-collected", "50"))
        assert await page.text_content("#stat-passed") == "40"
        assert await page.text_content("#stat-pass-rate") == "pass rate 80.0%"
        assert await page.text_content("#stat-imported") == "40"
        assert await page.text_content("#stat-lag") == "60.0 s"
        assert await page.text_content("#failed-link") == f"0 file(s) on {DAY.isoformat()}"
        assert await page.evaluate("typeof Chart") == "function"
        refused = page.locator("#refused tbody tr")
        assert await refused.count() == 1
        cells = await refused.first.locator("td").all_text_contents()
        assert cells[1:5] == ["apify_0001.json", "apify run-1", "vehicles", "10 of 50"]
        assert await refused.first.locator("li").all_text_contents() == [
            "6 missing:year",
            "4 business_rule:price",
        ]
        run = await page.locator("#runs tbody tr").first.locator("td").all_text_contents()
        assert run[3:6] == ["50", "40", "10"]
        # The services table fills from heartbeats, which may arrive after the first render.
        await page.locator("#services tbody tr").first.wait_for(timeout=15_000)

        second = FileCollected(
            occurred_at=AT + timedelta(minutes=5), path="raw/2026-11-28/vehicles/drop_2.json",
            sha256="ef" * 32, size_bytes=10, record_type=RecordType.VEHICLES, source="drop",
            tool="drop", record_count=7,
        )  # fmt: skip
        await bus.publish(second)
        await eventually(lambda: _text(page, "#stat-collected", "57"), timeout_s=30)
        await _screenshot(page)  # the README's picture, populated, before the hostile search

        await page.fill("#q", "mustang")
        await page.select_option("#type", "articles")
        await page.click("#search button")
        cell = page.locator("#results tbody td", has_text="buyers")
        await cell.first.wait_for()
        assert await cell.first.text_content() == HOSTILE_TITLE
        assert await page.locator("#results script, #results b").count() == 0
        assert await page.evaluate("window.pwned === undefined")
        await page.close()
    assert problems == []


async def _updated(page: Page) -> bool:
    return (await page.text_content("#updated") or "").startswith("updated ")


async def test_signing_in_with_the_token_opens_the_dashboard(
    browser: Browser, api_settings: MonitorSettings
) -> None:
    """With a token, the page sends the browser to /login; the form sets an HttpOnly,
    SameSite=Strict cookie page code cannot read, the dashboard then loads all its data, and the
    token is never part of a URL the browser requested."""
    token = secrets.token_urlsafe(24)  # made up per run
    settings = api_settings.model_copy(update={"api_token": SecretStr(token)})
    urls: list[str] = []
    async with running(settings) as base:
        context = await browser.new_context()
        page = await context.new_page()
        page.on("request", lambda request: urls.append(request.url))
        await page.goto(f"{base}/")
        assert page.url == f"{base}/login"
        await page.fill("input[name=token]", token)
        await page.click("#login button")
        await page.wait_for_url(f"{base}/")
        await eventually(lambda: _updated(page))
        assert await page.text_content("#error") == ""
        [cookie] = [c for c in await context.cookies() if c["name"] == TOKEN_COOKIE]
        assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (True, "Strict", False)
        assert await page.evaluate("document.cookie") == ""
        await context.close()
    assert any(url.endswith("/api/failed") or "/api/failed?" in url for url in urls)
    assert not [url for url in urls if token in url]
