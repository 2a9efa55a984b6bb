"""Alerts end to end: rules on PostgreSQL, state that survives restarts, real webhook receivers."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from click.testing import CliRunner
from pydantic import SecretStr

from services.cli import main as cli_main
from services.monitor import store
from services.monitor.alerts import rules as rules_module
from services.monitor.alerts.checks import Context
from services.monitor.alerts.engine import AlertEngine, firing
from services.monitor.alerts.rules import Rule, load_rules
from services.monitor.alerts.webhooks import (
    SIGNATURE_HEADER,
    Notification,
    Target,
    WebhookSender,
)
from services.monitor.classify import classify
from services.monitor.config import DEFAULT_RULES_FILE, MonitorSettings
from services.monitor.metrics import PipelineMetrics
from shared.bus import Bus, Envelope
from shared.events import BatchProcessed, FileRejected, RecordType, utcnow
from shared.settings import PipelineSettings
from tests.integration.test_monitor_api import reset_tables, running
from tests.polling import eventually
from tests.ports import free_port

pytestmark = [pytest.mark.postgres]

SECRET = "s3cret-for-tests"  # noqa: S105 - a test key for the local receiver
STAGE_RULE = Rule(name="stage_failing", kind="stage_failing", threshold=1, window_minutes=60)
INPUT_RULE = Rule(name="input_rejected", kind="input_rejected", threshold=1, window_minutes=60)
DEFAULT_RULES = Path(rules_module.__file__).with_name("default_rules.json")


@dataclass
class Receiver:
    """A local webhook receiver that answers 500 to its first ``fail_first`` requests."""

    fail_first: int = 0
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        """Record the request, then fail or accept it."""
        body = await request.read()
        self.requests.append((dict(request.headers), body))
        if len(self.requests) <= self.fail_first:
            return web.Response(status=500)
        self.accepted.append(json.loads(body))
        return web.Response(status=204)


@contextlib.asynccontextmanager
async def serving(receiver: Receiver) -> AsyncIterator[str]:
    """Serve a receiver on a free local port; yield its URL."""
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """Return a connection to a database with empty monitor tables."""
    await reset_tables(database_url)
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


async def _reject(conn: asyncpg.Connection, at: datetime, path: str) -> None:
    event = FileRejected(occurred_at=at, path=path, stage="processor", reason="not json")
    await store.insert_event(conn, classify(Envelope(event.subject, event.model_dump(mode="json"))))


async def _processed(conn: asyncpg.Connection, at: datetime, n: int, geocode_failures: int) -> None:
    event = BatchProcessed(
        occurred_at=at,
        batch_id=f"b{n}",
        record_type=RecordType.VEHICLES,
        source="drop",
        raw_path=f"raw/{n}.json",
        processed_path=f"processed/{n}.jsonl",
        records_read=10,
        records_valid=10,
        records_invalid=0,
        duplicates_in_batch=0,
        geocode_failures=geocode_failures,
        duration_s=1.0,
    )
    await store.insert_event(conn, classify(Envelope(event.subject, event.model_dump(mode="json"))))


async def test_a_run_of_geocoder_failures_raises_an_alert_and_counts(
    conn: asyncpg.Connection,
) -> None:
    """Failed lookups of the processed files are a counter; a run of them in the window fires
    the shipped ``geocoder_failing`` rule, which resolves once they leave the window."""
    rule = next(r for r in load_rules(DEFAULT_RULES_FILE) if r.name == "geocoder_failing")
    t0 = utcnow()
    sent: list[str] = []

    async def send(note: Notification) -> int:
        sent.append(f"{note.status} {note.key} {note.message}")
        return 1

    async def at(minutes: float) -> list[str]:
        ctx = Context(now=t0 + timedelta(minutes=minutes), started_at=t0)
        before = len(sent)
        await AlertEngine([rule], send, cooldown_s=0).evaluate(conn, ctx)
        return sent[before:]

    await _processed(conn, t0, 1, geocode_failures=0)
    await _processed(conn, t0, 2, geocode_failures=2)
    assert await at(1) == []  # two failures are not yet a run
    await _processed(conn, t0 + timedelta(minutes=2), 3, geocode_failures=4)
    assert await at(3) == ["firing geocoder geocoder: 6 lookup(s) failed in the last 60 min"]
    assert [a["rule"] for a in await firing(conn)] == ["geocoder_failing"]
    assert (await at(90))[0].startswith("resolved geocoder")

    metrics = PipelineMetrics()
    for tally in await store.fetch_totals(conn):
        metrics.add(tally)
    text = metrics.render().decode()
    assert 'pipeline_geocode_failures_total{record_type="vehicles",source="drop"} 6.0' in text


async def _dead_letter(conn: asyncpg.Connection, at: datetime, path: str) -> None:
    """Store a dead letter of ``files.collected``: the processor failed on it five times."""
    event = FileRejected(occurred_at=at, path=path, stage="collector", reason="-")
    headers = {"Nats-Msg-Id": f"dlq-{path}", "Pipeline-Error": "failed 5 times"}
    envelope = Envelope("dlq.files.collected", event.model_dump(mode="json"), headers)
    await store.insert_event(conn, classify(envelope, now=at))


def _signed(headers: dict[str, str], body: bytes) -> bool:
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return headers.get(SIGNATURE_HEADER) == f"sha256={expected}"


async def test_alert_fires_once_retries_a_failing_receiver_resolves_and_cools_down(
    conn: asyncpg.Connection,
) -> None:
    """A flaky receiver gets the alert on the third try; restarts do not resend; cooldown holds."""
    generic, slack = Receiver(fail_first=2), Receiver()
    t0 = utcnow()
    async with (
        serving(generic) as generic_url,
        serving(slack) as slack_url,
        aiohttp.ClientSession() as http,
    ):
        targets = [Target(generic_url, "generic"), Target(slack_url, "slack")]
        sender = WebhookSender(http, targets, SecretStr(SECRET), "ns", attempts=4, backoff_s=0.01)

        def engine() -> AlertEngine:  # a new engine is what a restarted monitor builds
            return AlertEngine([STAGE_RULE], sender.send, cooldown_s=1800)

        async def at(minutes: float) -> list[str]:
            ctx = Context(now=t0 + timedelta(minutes=minutes), started_at=t0)
            return [note.status for note in await engine().evaluate(conn, ctx)]

        await _dead_letter(conn, t0, "raw/a.json")
        assert await at(1) == ["firing"]
        assert len(generic.requests) == 3
        assert all(_signed(h, b) for h, b in generic.requests)
        assert generic.accepted[0]["status"] == "firing"
        assert generic.accepted[0]["key"] == "processor"
        assert generic.accepted[0]["details"] == {"failures": 1}
        assert "[FIRING] warning stage_failing (processor)" in slack.accepted[0]["text"]
        assert await at(2) == []  # still firing, already announced: nothing sent
        assert [a["rule"] for a in await firing(conn)] == ["stage_failing"]

        assert await at(70) == ["resolved"]  # the dead letter left the 60-minute window
        assert generic.accepted[-1]["status"] == "resolved"
        assert await firing(conn) == []

        await _dead_letter(conn, t0 + timedelta(minutes=71), "raw/b.json")
        assert await at(72) == []  # a new incident inside the cooldown is not sent ...
        assert len(await firing(conn)) == 1  # ... but it is recorded as firing
        assert await at(101) == ["firing"]  # sent once the cooldown is over
        assert len(generic.accepted) == 3


async def test_a_rejected_file_is_a_warning_about_the_input_a_dead_letter_is_critical(
    conn: asyncpg.Connection,
) -> None:
    """With the shipped rules, a malformed file warns, naming it; a stage failure is critical."""
    sent: list[Notification] = []

    async def send(note: Notification) -> int:
        sent.append(note)
        return 1

    engine = AlertEngine(load_rules(DEFAULT_RULES), send, cooldown_s=0)
    t0 = utcnow()
    event = FileRejected(
        occurred_at=t0,
        path="raw/2026-06-01/vehicles/drop_004.json",
        stage="processor",
        reason="not JSON: unexpected character at line 1",
        record_type="vehicles",
        original_name="broken.json",
    )
    await store.insert_event(conn, classify(Envelope(event.subject, event.model_dump(mode="json"))))
    await engine.evaluate(conn, Context(t0 + timedelta(minutes=1), t0))
    [note] = sent
    assert (note.rule, note.severity, note.key) == (
        "input_rejected",
        "warning",
        "raw/2026-06-01/vehicles/drop_004.json",
    )
    assert "broken.json" in note.message
    assert "not JSON" in note.message
    assert [a["severity"] for a in await firing(conn)] == ["warning"]

    await _dead_letter(conn, t0 + timedelta(minutes=2), "raw/2026-06-01/vehicles/x.json")
    await engine.evaluate(conn, Context(t0 + timedelta(minutes=3), t0))
    assert [(n.rule, n.severity, n.key) for n in sent[1:]] == [
        ("stage_failing", "critical", "processor")
    ]


async def test_delivery_that_never_succeeds_is_tried_again_next_round(
    conn: asyncpg.Connection,
) -> None:
    """When no receiver accepts, the alert stays unannounced and the next round sends it."""
    receiver = Receiver(fail_first=3)
    t0 = utcnow()
    async with serving(receiver) as url, aiohttp.ClientSession() as http:
        sender = WebhookSender(http, [Target(url, "generic")], None, "ns", attempts=2, backoff_s=0)
        engine = AlertEngine([STAGE_RULE], sender.send, cooldown_s=1800)
        await _dead_letter(conn, t0, "raw/c.json")
        assert await engine.evaluate(conn, Context(t0 + timedelta(minutes=1), t0)) == []
        assert len(receiver.requests) == 2
        notes = await engine.evaluate(conn, Context(t0 + timedelta(minutes=2), t0))
        assert [n.status for n in notes] == ["firing"]
        assert SIGNATURE_HEADER not in receiver.requests[-1][0]


@pytest.mark.nats
async def test_running_monitor_sends_an_alert_for_a_rejected_file(
    bus: Bus,
    settings: PipelineSettings,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The monitor's poller evaluates the configured rules and posts to the configured webhook.

    A rejected file is bad input: an ``input_rejected`` alert for that file, no ``stage_failing``.
    """
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([r.model_dump(mode="json") for r in (STAGE_RULE, INPUT_RULE)]))
    receiver = Receiver()
    async with serving(receiver) as url:
        monkeypatch.setenv("MONITOR_PORT", str(free_port()))
        monkeypatch.setenv("SHUTDOWN_GRACE_S", "5")
        monkeypatch.setenv("MONITOR_POLL_S", "0.2")
        monkeypatch.setenv("MONITOR_ALERT_RULES_FILE", str(rules))
        monkeypatch.setenv("MONITOR_WEBHOOK_URLS", f"generic={url}")
        monkeypatch.setenv("MONITOR_WEBHOOK_SECRET", SECRET)
        await reset_tables(database_url)
        async with running(MonitorSettings()):
            await bus.publish(FileRejected(path="raw/z.json", stage="collector", reason="too big"))
            await eventually(lambda: _accepted(receiver))
    [note] = receiver.accepted
    assert (note["rule"], note["key"], note["status"]) == ("input_rejected", "raw/z.json", "firing")
    assert note["severity"] == "warning"
    assert note["details"]["reason"] == "too big"
    assert note["namespace"] == settings.namespace
    assert _signed(*receiver.requests[0])


async def _accepted(receiver: Receiver) -> bool:
    return bool(receiver.accepted)


def test_cli_lists_firing_alerts_and_sends_a_test_notification(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pipeline alerts` lists what is firing; `pipeline alert-test` reports refused deliveries."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("MONITOR_WEBHOOK_URLS", f"generic=http://127.0.0.1:{free_port()}/none")
    monkeypatch.setenv("MONITOR_WEBHOOK_ATTEMPTS", "1")
    runner = CliRunner()
    listed = runner.invoke(cli_main, ["alerts", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert isinstance(json.loads(listed.output), list)
    refused = runner.invoke(cli_main, ["alert-test"])
    assert refused.exit_code == 1
    assert "delivered to 0 of 1 webhook(s)" in refused.output
