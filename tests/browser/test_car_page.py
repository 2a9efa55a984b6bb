"""The car page in a real headless Chromium: reached from the dashboard's search, it shows the
car's listings per site, its signals and its price over time, shows user data as text, and logs
no console errors.
"""

# The shared fixtures live in test_importer.py; tests take them as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, Page

from services.importer.handlers import Deps
from services.monitor.config import MonitorSettings
from shared.storage import DataDir
from tests.browser.test_dashboard import browser  # noqa: F401 - fixture
from tests.integration.test_cars import DAY_2, drop, listing, walkthrough
from tests.integration.test_importer import deps, migrated_url, pool, recorder  # noqa: F401
from tests.integration.test_monitor_api import running

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats]

HOSTILE_URL = "javascript:window.pwned=1//<img src=x onerror=alert(1)>"


def watch(page: Page) -> list[str]:
    """Collect console errors and warnings, page errors and failed responses of ``page``."""
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on(
        "response",
        lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None,
    )
    return problems


async def test_car_page_from_search_shows_listings_signals_and_price_chart(
    browser: Browser,
    api_settings: MonitorSettings,
    deps: Deps,
    data_dir: DataDir,
    pool: asyncpg.Pool,
) -> None:
    """Search, click the listing, read the car: two sites, -8 %, a relisting, a two-line chart."""
    first, _ = await walkthrough(deps, data_dir)
    car_id = await pool.fetchval("SELECT id FROM vehicles WHERE data_hash = $1", first["data_hash"])
    async with running(api_settings) as base:
        page = await browser.new_page()
        problems = watch(page)
        await page.goto(f"{base}/")
        await page.fill("#q", "chevelle dealer")
        await page.click("#search button")
        await page.locator("#results a", has_text=str(car_id)).first.click()
        await page.wait_for_url(f"{base}/cars/{car_id}")
        await page.locator("body[data-loaded='true']").wait_for()
        assert await page.text_content("#title") == f"1970 Chevrolet Chevelle SS (car {car_id})"
        assert await page.text_content("#stat-sites") == "2"
        assert await page.text_content("#stat-lowest") == "$46,000"
        assert await page.text_content("#stat-market") == (
            "percentile 31 of 14; median $52,000 (-11.5%)"
        )
        assert await page.text_content("#stat-change") == "-8.0%"
        assert await page.text_content("#stat-relisted") == "1 time(s)"
        assert await page.text_content("#stat-days") == "1"
        sites = await page.locator("#listings tbody tr td:nth-child(2)").all_text_contents()
        assert sites == ["dealer-a", "auction-b"]
        kinds = await page.locator("#timeline tbody tr td:nth-child(3)").all_text_contents()
        assert kinds == ["listed", "seen", "relisted"]
        assert await points(page) == [2, 1]
        assert await page.locator("#listings a[href^='https://dealer-a']").count() == 1
        if target := os.environ.get("CAR_SCREENSHOT"):  # docs/car.png: the docs' picture
            await page.set_viewport_size({"width": 1300, "height": 900})
            picture = await page.screenshot(path=str(Path(target)), full_page=True)
            assert len(picture) > 10_000
        await page.close()
    assert problems == []


async def points(page: Page) -> list[int]:
    """Return the number of points of each line of the price chart."""
    counts: list[int] = await page.evaluate(
        "Chart.getChart(document.getElementById('chart-price')).data.datasets"
        ".map((d) => d.data.length)"
    )
    return counts


async def test_car_page_shows_a_hostile_url_as_text(
    browser: Browser,
    api_settings: MonitorSettings,
    deps: Deps,
    data_dir: DataDir,
    pool: asyncpg.Pool,
) -> None:
    """A listing URL holding script is shown as text, never a link or markup."""
    first, _ = await walkthrough(deps, data_dir)
    hostile = listing("shady-c", "C9", 47_000, DAY_2, canonical=first["data_hash"])
    hostile.update(source_url=None, processed_at=f"{DAY_2}T12:00:00+00:00")
    await drop(deps, data_dir, [hostile])
    await pool.execute(  # a URL the model would refuse, written straight into the table
        "UPDATE vehicles SET source_url = $1 WHERE data_hash = $2",
        HOSTILE_URL,
        hostile["data_hash"],
    )
    car_id = await pool.fetchval("SELECT id FROM vehicles WHERE data_hash = $1", first["data_hash"])
    async with running(api_settings) as base:
        page = await browser.new_page()
        problems = watch(page)
        await page.goto(f"{base}/cars/{car_id}")
        await page.locator("body[data-loaded='true']").wait_for()
        assert await page.text_content("#stat-sites") == "3"
        assert await page.text_content("#stat-change") == "-6.0%"  # 50,000 first, 47,000 latest
        assert await page.text_content("#stat-relisted") == "2 time(s)"
        assert await points(page) == [2, 1, 1]
        assert await page.locator("#listings a[href^='javascript']").count() == 0
        assert await page.locator("#listings img").count() == 0
        assert await page.locator("#listings td", has_text=HOSTILE_URL).count() == 1
        assert await page.evaluate("window.pwned === undefined")
        await page.close()
    assert problems == []
