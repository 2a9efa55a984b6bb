"""The monitor's derived metrics and JSON endpoints on real JetStream and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest

from services.importer.schema import migrate as migrate_importer
from services.monitor import stats, store
from services.monitor.app import serve
from services.monitor.classify import classify
from services.monitor.config import MonitorSettings
from services.monitor.report import build_report, render_text
from services.monitor.schema import migrate
from shared.bus import Bus, Envelope
from shared.events import (
    AlertRaised,
    BatchImported,
    BatchProcessed,
    FileCollected,
    FileRejected,
    ProviderUsage,
    RecordType,
    ScrapeCompleted,
)
from shared.settings import PipelineSettings
from shared.storage import DataDir
from tests.polling import eventually
from tests.ports import free_port

pytestmark = [pytest.mark.nats, pytest.mark.postgres]

DAY = date(2026, 11, 28)
AT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
RAW = "raw/2026-11-28/vehicles/apify_0001.json"
MONITOR_TABLES = "monitor_events, monitor_alerts, monitor_queue_samples"
EVENTS_PUBLISHED = 8


async def reset_tables(database_url: str) -> None:
    """Migrate the importer and monitor schemas and empty the monitor's tables and articles."""
    conn = await asyncpg.connect(database_url)
    try:
        await migrate_importer(conn)
        await migrate(conn)
        await conn.execute(f"TRUNCATE {MONITOR_TABLES}, articles")
    finally:
        await conn.close()


@pytest.fixture
async def api_settings(
    settings: PipelineSettings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> MonitorSettings:
    """Return monitor settings on a free port with fast heartbeats and polls, tables emptied."""
    monkeypatch.setenv("MONITOR_PORT", str(free_port()))
    monkeypatch.setenv("SHUTDOWN_GRACE_S", "5")
    monkeypatch.setenv("HEARTBEAT_S", "0.5")
    monkeypatch.setenv("MONITOR_POLL_S", "0.3")
    monkeypatch.delenv("MONITOR_WEBHOOK_URLS", raising=False)
    await reset_tables(database_url)
    return MonitorSettings()


@contextlib.asynccontextmanager
async def running(settings: MonitorSettings) -> AsyncIterator[str]:
    """Run the monitor in this event loop; yield its base URL once it is ready."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop))
    base = f"http://127.0.0.1:{settings.monitor_port}"

    async def ready() -> bool:
        if task.done():
            task.result()  # surface a start-up failure instead of waiting for the deadline
        with contextlib.suppress(aiohttp.ClientError):
            async with aiohttp.ClientSession() as http, http.get(f"{base}/readyz") as response:
                return response.status == 200
        return False

    try:
        await eventually(ready)
        yield base
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def scenario_events(at: datetime = AT) -> list[Any]:
    """Return one scrape of 50 vehicles through collection, validation and import, plus errors."""

    def later(seconds: int) -> datetime:
        return at + timedelta(seconds=seconds)

    return [
        ScrapeCompleted(
            occurred_at=later(seconds=5), run_id="run-1", record_type=RecordType.VEHICLES,
            provider="apify", files=[RAW], records=50, duration_s=4.0,
        ),
        ProviderUsage(
            occurred_at=later(seconds=5), provider="apify", requests=10, failures=1,
            latency_ms_p50=200.0, latency_ms_p95=450.0, latency_ms_mean=250.0, credits=2.5,
        ),
        FileCollected(
            occurred_at=later(seconds=6), path=RAW, sha256="ab" * 32, size_bytes=900,
            record_type=RecordType.VEHICLES, source="apify", tool="apify", record_count=50,
        ),
        BatchProcessed(
            occurred_at=later(seconds=36), batch_id="b-1", record_type=RecordType.VEHICLES,
            source="apify", raw_path=RAW, processed_path="processed/2026-11-28/vehicles/a.jsonl",
            records_read=50, records_valid=40, records_invalid=10, duplicates_in_batch=2,
            errors_by_reason={"missing:year": 6, "business_rule:price": 4}, duration_s=1.5,
        ),
        BatchImported(
            occurred_at=later(seconds=66), batch_id="b-1", record_type=RecordType.VEHICLES,
            source="apify", processed_path="processed/2026-11-28/vehicles/a.jsonl",
            rows_total=40, inserted=38, updated=2, unchanged=0, failed=0, chunks=1,
            duration_s=0.8,
        ),
        FileRejected(occurred_at=at, path="raw/x.json", stage="processor", reason="not json"),
        AlertRaised(
            occurred_at=at, service="collector", kind="provider_auth_failed",
            severity="critical", message="apify refused the key",
        ),
    ]  # fmt: skip


async def publish_scenario(bus: Bus, at: datetime = AT) -> None:
    """Publish the scenario's events and one dead letter of ``records.processed``."""
    for event in scenario_events(at):
        await bus.publish(event)
    body = scenario_events(at)[3].model_dump_json().encode()
    headers = {"Nats-Msg-Id": f"dlq-1-{at.isoformat()}", "Pipeline-Error": "failed 5 times"}
    await bus.publish_raw(bus.names.dlq(bus.names.subject("records.processed")), body, headers)


async def get_json(http: aiohttp.ClientSession, url: str, **params: str) -> Any:
    """Return the JSON body of a GET that must answer 200."""
    async with http.get(url, params=params) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def events_stored(database_url: str, n: int) -> bool:
    """Tell whether at least ``n`` events are in monitor_events."""
    conn = await asyncpg.connect(database_url)
    try:
        return bool(await conn.fetchval("SELECT count(*) FROM monitor_events") >= n)
    finally:
        await conn.close()


async def test_report_has_providers_timings_lag_quality_and_errors_by_stage(
    bus: Bus, api_settings: MonitorSettings, database_url: str
) -> None:
    """The report derives provider, timing, lag, duplicate, quality and error figures."""
    async with running(api_settings) as base, aiohttp.ClientSession() as http:
        await publish_scenario(bus)
        await eventually(lambda: events_stored(database_url, EVENTS_PUBLISHED))
        served = await get_json(http, f"{base}/report", date=DAY.isoformat())
    conn = await asyncpg.connect(database_url)
    try:
        report = await build_report(conn, DAY, DAY)
    finally:
        await conn.close()
    assert served["timings"] == report["timings"]
    apify = report["scraping"]["by_provider"]["apify"]
    assert (apify["runs"], apify["records"], apify["files"]) == (1, 50, 1)
    assert (apify["requests"], apify["failures"], apify["success_rate"]) == (10, 1, 0.9)
    assert (apify["latency_ms_p50"], apify["latency_ms_p95"], apify["credits"]) == (200, 450, 2.5)
    assert apify["avg_response_ms"] == 250.0
    scraping, imported = report["scraping"], report["import"]
    assert (scraping["success_rate"], scraping["avg_response_ms"]) == (0.9, 250.0)
    assert imported["imported"] == 40
    assert imported["imported_by_type"] == {"vehicles": 40, "events": 0, "articles": 0}
    assert report["errors"]["total"] == 2  # the rejected file and the dead letter
    text = render_text(report)
    assert "success rate 90.0%  avg response 250 ms" in text
    assert "imported 40 (vehicles 40, events 0, articles 0)" in text
    assert "Errors       total 2  " in text
    timings = report["timings"]
    assert timings["stages"]["processor"] == {"n": 1, "p50_s": 1.5, "p95_s": 1.5}
    assert timings["stages"]["collector"]["p50_s"] == 4.0
    lag = timings["end_to_end_s"]
    assert (lag["batches"], lag["p50"], lag["to_processed_p50"], lag["to_imported_p50"]) == (
        1, 60.0, 30.0, 30.0,
    )  # fmt: skip
    assert report["duplicates"]["exact"] == 2
    assert report["duplicates"]["rate"] == pytest.approx(2 / 52, abs=1e-4)
    assert report["validation"]["reasons_by_type"] == {
        "vehicles": {"missing:year": 6, "business_rule:price": 4}
    }
    [quality] = report["quality"]
    assert (quality["day"], quality["source"], quality["pass_rate"]) == (
        DAY.isoformat(),
        "apify",
        0.8,
    )
    assert report["errors"]["by_stage"] == {
        "collector": {"provider_auth_failed": 1, "provider_failure": 1},
        "importer": {"dead_letter": 1},
        "processor": {"file_rejected": 1},
    }
    [refused] = report["errors"]["refused_records"]
    assert {key: refused[key] for key in ("path", "provider", "run_id", "refused", "reasons")} == {
        "path": RAW,
        "provider": "apify",
        "run_id": "run-1",
        "refused": 10,
        "reasons": {"missing:year": 6, "business_rule:price": 4},
    }
    text = render_text(report)
    assert "provider apify: 1 runs, 50 records, 10 requests (90.0% ok), p50 200 ms" in text
    name = RAW.rsplit("/", 1)[-1]
    assert f"refused 10 of 50 in {name} (apify run run-1): missing:year 6, business_rule" in text
    assert "end-to-end p50 60s" in text


async def test_average_response_weighs_each_report_by_its_requests(database_url: str) -> None:
    """Two runs' mean times (100 ms over 30 requests, 400 ms over 10) average 175 ms; a report
    without a mean (an older collector) counts for the success rate only."""
    await reset_tables(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        for usage in (
            ProviderUsage(occurred_at=AT, provider="a", requests=30, failures=0,
                          latency_ms_mean=100.0),
            ProviderUsage(occurred_at=AT, provider="b", requests=10, failures=2,
                          latency_ms_mean=400.0),
            ProviderUsage(occurred_at=AT, provider="b", requests=10, failures=3),
        ):  # fmt: skip
            envelope = Envelope(usage.subject, usage.model_dump(mode="json"))
            await store.insert_event(conn, classify(envelope))
        totals = await stats.provider_totals(conn, DAY, DAY)
        none = await stats.provider_totals(conn, DAY + timedelta(days=1), DAY + timedelta(days=1))
    finally:
        await conn.close()
    assert totals == {"requests": 50, "success_rate": 0.9, "avg_response_ms": 175.0}
    assert none == {"requests": 0, "success_rate": None, "avg_response_ms": None}


async def test_dashboard_endpoints_serve_runs_services_queues_failed_and_search(
    bus: Bus, api_settings: MonitorSettings, database_url: str, data_dir: DataDir
) -> None:
    """The JSON endpoints serve throughput, runs, heartbeats, lag, failed files and search."""
    failed = data_dir.failed(DAY, "validation_errors")
    failed.mkdir(parents=True)
    (failed / "apify_0001.jsonl").write_text('{"a": 1}\n{"a": 2}\n\n{"a": 3}\n')
    await insert_article(database_url, "Mustang <script>alert(1)</script> buyers guide")
    async with running(api_settings) as base, aiohttp.ClientSession() as http:
        await publish_scenario(bus)
        await eventually(lambda: events_stored(database_url, EVENTS_PUBLISHED))
        through = await get_json(http, f"{base}/api/throughput", date=DAY.isoformat())
        recent = await get_json(http, f"{base}/api/recent")
        services = await eventually(lambda: _services_with(http, base, "monitor"))
        queues = await eventually(lambda: _queues_with_dead_letter(http, base))
        listing = await get_json(http, f"{base}/api/failed", date=DAY.isoformat())
        found = await get_json(http, f"{base}/search", q="mustang", type="articles")
        async with http.get(f"{base}/search", params={"q": "x", "type": "boats"}) as bad:
            assert bad.status == 400
        async with http.get(f"{base}/report", params={"date": "28/11/2026"}) as bad:
            assert bad.status == 400
            assert "YYYY-MM-DD" in (await bad.json())["error"]
    assert through["unit"] == "hour"
    assert through["buckets"] == [
        {"at": "2026-11-28T09:00:00", "collected": 50, "validated": 50, "passed": 40,
         "duplicates": 2, "imported": 40},
    ]  # fmt: skip
    assert recent["runs"][0]["files"] == [RAW]
    assert (recent["runs"][0]["valid"], recent["runs"][0]["refused"]) == (40, 10)
    assert recent["files"][0] == {
        "occurred_at": (AT + timedelta(seconds=6)).isoformat(), "path": RAW,
        "record_type": "vehicles", "source": "apify", "batch_id": "b-1",
        "valid": 40, "invalid": 10, "imported": 40, "original_name": None, "rejected": None,
    }  # fmt: skip
    [instance] = services["monitor"]["instances"]
    assert instance["stale"] is False
    assert queues["dead_letters"] == {"records.processed": 1}
    assert listing["records"] == 3
    assert listing["files"][0]["path"] == "failed/2026-11-28/validation_errors/apify_0001.jsonl"
    assert [row["title"] for row in found["results"]] == [
        "Mustang <script>alert(1)</script> buyers guide"
    ]


async def test_search_never_serves_a_non_web_url(
    api_settings: MonitorSettings, database_url: str
) -> None:
    """A stored ``javascript:`` URL (kept as the seed's contract says) is served as null."""
    await insert_article(database_url, "Camaro history", "https://example.org/camaro", "a1" * 32)
    for number, url in enumerate(("javascript:alert(document.cookie)", " JaVa\tScRiPt:x()")):
        await insert_article(database_url, f"Camaro trap {number}", url, f"b{number}" * 32)
    async with running(api_settings) as base, aiohttp.ClientSession() as http:
        found = await get_json(http, f"{base}/search", q="camaro", type="articles")
    urls = {row["title"]: row["url"] for row in found["results"]}
    assert urls == {
        "Camaro history": "https://example.org/camaro",
        "Camaro trap 0": None,
        "Camaro trap 1": None,
    }


async def _services_with(http: aiohttp.ClientSession, base: str, name: str) -> Any:
    body = await get_json(http, f"{base}/api/services")
    return body["services"] if name in body["services"] else None


async def _queues_with_dead_letter(http: aiohttp.ClientSession, base: str) -> Any:
    body = await get_json(http, f"{base}/api/queues")
    return body if body["dead_letter_depth"] else None


async def insert_article(
    database_url: str, title: str, url: str = "https://example.org/a", data_hash: str = "cd" * 32
) -> None:
    """Insert one article row with the given title (what the importer would have loaded)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO articles (source_name, title, url, data_hash) VALUES ($1, $2, $3, $4)",
            "test",
            title,
            url,
            data_hash,
        )
    finally:
        await conn.close()


async def test_poller_samples_dead_letter_depth_into_postgres(
    bus: Bus, api_settings: MonitorSettings, database_url: str
) -> None:
    """The poller stores JetStream lag samples (here the dead-letter depth) in PostgreSQL."""
    async with running(api_settings):
        await publish_scenario(bus)
        await eventually(lambda: _samples_for(database_url, "dead_letters"))
    assert await _samples_for(database_url, "dead_letters")


async def _samples_for(database_url: str, consumer: str) -> bool:
    conn = await asyncpg.connect(database_url)
    try:
        return bool(
            await conn.fetchval(
                "SELECT count(*) FROM monitor_queue_samples WHERE consumer = $1 AND pending > 0",
                consumer,
            )
        )
    finally:
        await conn.close()
