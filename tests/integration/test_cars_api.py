"""The car's JSON (``/api/cars/ID``, ``?url=``) and its page route, served by the real monitor."""

# The shared fixtures live in test_importer.py; tests take them as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

from urllib.parse import quote

import aiohttp
import asyncpg
import pytest

from services.importer.handlers import Deps
from services.monitor.config import MonitorSettings
from shared.storage import DataDir
from tests.integration.test_cars import walkthrough
from tests.integration.test_importer import (  # noqa: F401 - fixtures
    deps,
    migrated_url,
    pool,
    recorder,
)
from tests.integration.test_monitor_api import api_settings, get_json, running  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


async def test_car_json_has_listings_signals_and_timeline(
    api_settings: MonitorSettings, deps: Deps, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """/api/cars/ID answers for any listing of the car, and by URL; unknown ids are 404."""
    first, relist = await walkthrough(deps, data_dir)
    car_id = await pool.fetchval("SELECT id FROM vehicles WHERE data_hash = $1", first["data_hash"])
    relist_id = await pool.fetchval(
        "SELECT id FROM vehicles WHERE data_hash = $1", relist["data_hash"]
    )
    async with running(api_settings) as base, aiohttp.ClientSession() as http:
        car = await get_json(http, f"{base}/api/cars/{relist_id}")
        by_url = await get_json(http, f"{base}/api/cars?url={quote(first['source_url'])}")
        statuses = []
        for path in ("/api/cars/999999", "/api/cars/abc", "/api/cars", "/api/cars/" + "9" * 30):
            async with http.get(base + path) as response:
                statuses.append(response.status)
        async with http.get(f"{base}/cars/{car_id}") as response:
            page = await response.text()
            page_status = response.status
    assert by_url == car
    assert (car["car_id"], car["make"], car["model"]) == (car_id, "Chevrolet", "Chevelle SS")
    assert [(x["site"], x["price"], len(x["observations"])) for x in car["listings"]] == [
        ("dealer-a", "50000.00", 2),
        ("auction-b", "46000.00", 1),
    ]
    assert [e["kind"] for e in car["timeline"]] == ["listed", "seen", "relisted"]
    assert car["timeline"][-1]["at"] == "2026-12-02T11:00:00+00:00"
    signals = car["signals"]
    assert (signals["days_on_market"], signals["sites"], signals["lowest_price"]) == (
        1.0,
        2,
        "46000.00",
    )
    assert signals["price_changes"]["change_pct"] == -8.0
    assert signals["relisted"][0]["site"] == "auction-b"
    assert statuses == [404, 400, 400, 404]
    assert page_status == 200
    assert '<script src="/static/car.js"' in page
