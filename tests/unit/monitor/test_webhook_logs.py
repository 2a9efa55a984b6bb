"""A failed webhook delivery is logged without its URL's path, which holds Slack's secret."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestServer

from services.monitor.alerts.webhooks import Notification, Target, WebhookSender

SLACK_PATH = "/services/T0000/B0000/XXXXsecretXXXX"
NOTE = Notification(
    status="firing", rule="stage_failing", key="processor", severity="critical",
    message="m", details={}, first_fired_at=datetime.now(UTC), at=datetime.now(UTC),
)  # fmt: skip


@pytest.fixture
async def receiver() -> AsyncIterator[TestServer]:
    """A receiver on 127.0.0.1 that answers 404 under /gone and 503 under /down."""

    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=404 if request.path.startswith("/gone") else 503)

    app = web.Application()
    app.router.add_post("/{tail:.*}", answer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_failures_are_logged_without_the_webhook_path(receiver: TestServer) -> None:
    """Refused (404), failing (503, retried) and unreachable webhooks: no log line has the path."""
    base, closed = f"http://127.0.0.1:{receiver.port}", _closed_port()
    targets = [
        Target(f"{base}/gone{SLACK_PATH}", "slack"),
        Target(f"{base}/down{SLACK_PATH}", "slack"),
        Target(f"http://127.0.0.1:{closed}{SLACK_PATH}", "slack"),
    ]
    async with aiohttp.ClientSession() as http:
        sender = WebhookSender(http, targets, None, "ns", attempts=2, backoff_s=0)
        with structlog.testing.capture_logs() as logs:
            assert await sender.send(NOTE) == 0
    failed = [line for line in logs if line["event"] == "monitor.webhook_failed"]
    assert [line["error"] for line in failed] == [
        "ClientResponseError: HTTP 404",
        "RetryableStatusError: HTTP 503",
        f"ClientConnectorError: cannot connect to 127.0.0.1:{closed}",
    ]
    assert any(line["event"] == "monitor.webhook_retrying" for line in logs)
    assert "XXXXsecret" not in repr(logs)
