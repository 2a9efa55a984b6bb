"""Image HEAD checks: a blocked URL is a flag, checks run concurrently within a chunk budget.

A local image host on 127.0.0.1 answers after a set delay (a slow host, not synchronisation).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from services.processor.enrich.image_head import ImageChecks
from shared.netguard import UrlPolicy, guarded_session

LOOPBACK = UrlPolicy(allowed_hosts=frozenset({"127.0.0.1"}))


@pytest.fixture
async def slow_host() -> AsyncIterator[TestServer]:
    """Serve ``/{delay_s}/{name}.jpg`` as a JPEG after ``delay_s`` seconds."""

    async def picture(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.match_info["delay"]))
        return web.Response(body=b"\xff\xd8\xff", content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/{delay}/{name}", picture)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


def _entry(url: str) -> dict[str, Any]:
    return {"url": url, "flags": [], "checked": False, "rule": "url_form"}


async def test_a_blocked_image_is_a_flag_among_good_ones(slow_host: TestServer) -> None:
    """Internal and non-http(s) image URLs are flagged ``blocked_url``; the good one is checked."""
    good = _entry(f"http://127.0.0.1:{slow_host.port}/0/ok.jpg")
    blocked = [
        _entry("http://169.254.169.254/latest/meta-data/x.jpg"),
        _entry("http://localhost/x.jpg"),
        _entry("javascript:alert(1)"),
    ]
    async with guarded_session(LOOPBACK) as session:
        await ImageChecks(session).check_all([blocked[0], good, *blocked[1:]])
    assert (good["status"], good["flags"]) == (200, [])
    for entry in blocked:
        assert (entry["checked"], entry["flags"]) == (True, ["blocked_url"]), entry


async def test_checks_of_a_chunk_run_concurrently(slow_host: TestServer) -> None:
    """Twelve images that take 1 s each are checked in far less than 12 s."""
    entries = [_entry(f"http://127.0.0.1:{slow_host.port}/1/{i}.jpg") for i in range(12)]
    started = time.monotonic()
    async with guarded_session(LOOPBACK) as session:
        unchecked = await ImageChecks(session, concurrency=16, budget_s=20).check_all(entries)
    assert time.monotonic() - started < 6
    assert unchecked == 0
    assert all(entry["status"] == 200 for entry in entries)


async def test_a_slow_host_cannot_hold_a_chunk_past_its_budget(slow_host: TestServer) -> None:
    """Checks still running when the budget is spent are cancelled and left unchecked."""
    quick = _entry(f"http://127.0.0.1:{slow_host.port}/0/quick.jpg")
    stuck = [_entry(f"http://127.0.0.1:{slow_host.port}/60/{i}.jpg") for i in range(3)]
    started = time.monotonic()
    async with guarded_session(LOOPBACK) as session:
        checks = ImageChecks(session, budget_s=1.0, timeout_s=120)
        unchecked = await checks.check_all([quick, *stuck])
    assert time.monotonic() - started < 10
    assert unchecked == 3
    assert quick["status"] == 200
    for entry in stuck:
        assert (entry["checked"], entry["skipped"], entry["flags"]) == (False, "time_budget", [])
