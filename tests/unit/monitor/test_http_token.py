"""MONITOR_API_TOKEN: every request but the health checks needs the token."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from services.monitor.http import TOKEN_COOKIE, make_app
from services.monitor.metrics import PipelineMetrics

TOKEN = secrets.token_urlsafe(16)  # made up per run


class _Deps:
    """Just enough of HttpDeps for /metrics and the middleware."""

    def __init__(self) -> None:
        self.metrics = PipelineMetrics()


@pytest.fixture
async def client() -> Any:
    """Serve the monitor app with a token, without NATS or PostgreSQL behind it."""
    app: web.Application = make_app(_Deps(), SecretStr(TOKEN))  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def test_requests_without_the_token_are_refused(client: TestClient) -> None:
    """/metrics answers 401 without the token and 200 with the bearer token."""
    refused = await client.get("/metrics")
    assert refused.status == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    allowed = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert allowed.status == 200


async def test_browser_gets_a_cookie_from_the_token_link(client: TestClient) -> None:
    """Opening /?token= once sets an HttpOnly cookie that later requests carry."""
    response = await client.get(f"/?token={TOKEN}", allow_redirects=False)
    assert response.status == 302
    cookie = response.cookies[TOKEN_COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    follow = await client.get("/metrics")
    assert follow.status == 200
