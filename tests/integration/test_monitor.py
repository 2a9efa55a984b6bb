"""The monitor on real JetStream and PostgreSQL: store once, count, report, reseed on restart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime

import aiohttp
import asyncpg
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.monitor.app import serve
from services.monitor.config import MonitorSettings
from services.monitor.report import build_report, render_text
from services.monitor.schema import migrate
from shared.bus import Bus
from shared.events import BatchImported, BatchProcessed, FileCollected, FileRejected, RecordType
from shared.settings import PipelineSettings
from tests.polling import eventually
from tests.ports import free_port

pytestmark = [pytest.mark.nats, pytest.mark.postgres]

DAY = date(2026, 11, 29)
AT = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def monitor_settings(
    settings: PipelineSettings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> MonitorSettings:
    """Return monitor settings on a free port, with an empty monitor_events table."""
    monkeypatch.setenv("MONITOR_HOST", "127.0.0.1")
    monkeypatch.setenv("MONITOR_PORT", str(free_port()))
    monkeypatch.setenv("SHUTDOWN_GRACE_S", "5")
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn)
        await conn.execute("TRUNCATE monitor_events")
    finally:
        await conn.close()
    return MonitorSettings()


@contextlib.asynccontextmanager
async def _running(settings: MonitorSettings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def _collected(source: str, count: int) -> FileCollected:
    return FileCollected(
        occurred_at=AT,
        path=f"raw/2026-11-29/vehicles/{source}_{count}.json",
        sha256=f"{count:064x}",
        size_bytes=100,
        record_type=RecordType.VEHICLES,
        source=source,
        tool=source,
        record_count=count,
    )


def _processed() -> BatchProcessed:
    return BatchProcessed(
        occurred_at=AT,
        batch_id="b1",
        record_type=RecordType.VEHICLES,
        source="drop",
        raw_path="raw/2026-11-29/vehicles/drop_1.json",
        processed_path="processed/2026-11-29/vehicles/drop_1.json",
        records_read=120,
        records_valid=110,
        records_invalid=10,
        duplicates_in_batch=2,
        errors_by_reason={"business_rule:price": 6, "missing:year": 4},
        repairs_by_rule={"price_text": 3, "image_url_invalid": 1},
        duration_s=0.5,
    )


def _imported() -> BatchImported:
    return BatchImported(
        occurred_at=AT,
        batch_id="b1",
        record_type=RecordType.VEHICLES,
        source="drop",
        processed_path="processed/2026-11-29/vehicles/drop_1.json",
        rows_total=110,
        inserted=100,
        updated=5,
        unchanged=5,
        failed=0,
        chunks=1,
        duration_s=0.2,
    )


async def _publish_scenario(bus: Bus) -> None:
    """Publish 6 distinct events; one of them twice on core NATS, bypassing JetStream dedupe."""
    for event in (
        _collected("drop", 70),
        _collected("apify", 50),
        _processed(),
        _imported(),
        FileRejected(occurred_at=AT, path="raw/bad.json", stage="processor", reason="not json"),
    ):
        await bus.publish(event)
    twice = _collected("drop", 7)
    body = twice.model_dump_json().encode()
    for _ in range(2):
        await bus.nc.publish(bus.names.subject(twice.subject), body)
    await bus.nc.flush()
    dead = _processed().model_dump_json().encode()
    headers = {"Nats-Msg-Id": "dlq-1-test", "Pipeline-Error": "failed 5 times"}
    await bus.publish_raw(bus.names.dlq(bus.names.subject("records.processed")), dead, headers)


async def _samples(http: aiohttp.ClientSession, base: str) -> Samples:
    async with http.get(f"{base}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.endswith("_total")
    }


def _until(
    http: aiohttp.ClientSession, base: str, ok: Callable[[Samples], bool]
) -> Callable[[], Awaitable[Samples | None]]:
    async def probe() -> Samples | None:
        samples = await _samples(http, base)
        return samples if ok(samples) else None

    return probe


def _events_seen(samples: Samples) -> float:
    return sum(v for (name, _), v in samples.items() if name == "pipeline_events_total")


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def _healthz(http: aiohttp.ClientSession, base: str) -> tuple[int, dict[str, object]]:
    async with http.get(f"{base}/healthz") as response:
        return response.status, await response.json()


async def _consumer_idle(bus: Bus) -> bool:
    info = await bus.js.consumer_info(bus.names.stream, bus.names.durable("monitor", ">"))
    return bool(info.num_pending == 0 and info.num_ack_pending == 0)


async def test_monitor_counts_reports_and_reseeds(
    bus: Bus, monitor_settings: MonitorSettings, database_url: str
) -> None:
    """Events are stored once, counted in /metrics, reported, and the counters survive a restart."""
    base = f"http://127.0.0.1:{monitor_settings.monitor_port}"
    async with aiohttp.ClientSession() as http:
        async with _running(monitor_settings):
            await eventually(lambda: _healthz_ok(http, base))
            await _publish_scenario(bus)
            await eventually(_until(http, base, lambda s: _events_seen(s) >= 7))
            await eventually(lambda: _consumer_idle(bus))
            before = await _samples(http, base)
            status, health = await _healthz(http, base)
        assert status == 200
        assert health == {"status": "ok", "nats": True, "database": True}
        assert _events_seen(before) == 7
        drop = {"record_type": "vehicles", "source": "drop"}
        assert _value(before, "pipeline_files_collected_total", **drop) == 2
        assert (
            _value(before, "pipeline_files_collected_total", record_type="vehicles", source="apify")
            == 1
        )
        assert _value(before, "pipeline_records_read_total", **drop) == 120
        assert _value(before, "pipeline_records_invalid_total", **drop) == 10
        assert _value(before, "pipeline_duplicates_total", **drop) == 2
        assert _value(before, "pipeline_rows_inserted_total", **drop) == 100
        assert _value(before, "pipeline_rows_updated_total", **drop) == 5
        assert (
            _value(
                before, "pipeline_files_rejected_total", stage="processor", record_type="unknown"
            )
            == 1
        )
        assert _value(before, "pipeline_dead_letters_total", subject="records.processed") == 1

        async with _running(monitor_settings):
            await eventually(lambda: _healthz_ok(http, base))
            after = await _samples(http, base)
            async with http.get(f"{base}/report", params={"date": DAY.isoformat()}) as response:
                served = await response.json()
        assert after == before

    conn = await asyncpg.connect(database_url)
    try:
        report = await build_report(conn, DAY, DAY)
        stored = await conn.fetchval("SELECT count(*) FROM monitor_events")
    finally:
        await conn.close()
    assert stored == 7
    assert served == orjson.loads(orjson.dumps(report))
    assert report["scraping"]["files_collected"] == 3
    assert report["scraping"]["records_collected"] == 127
    assert report["scraping"]["by_source"] == {
        "apify": {"files": 1, "records": 50},
        "drop": {"files": 2, "records": 77},
    }
    validation = report["validation"]
    assert (validation["records_read"], validation["records_valid"]) == (120, 110)
    assert (validation["records_invalid"], validation["duplicates_in_batch"]) == (10, 2)
    assert validation["pass_rate"] == pytest.approx(0.9167)
    assert validation["errors_by_reason"] == {"business_rule:price": 6, "missing:year": 4}
    assert validation["repairs_by_rule"] == {"price_text": 3, "image_url_invalid": 1}
    imported = report["import"]
    assert (imported["inserted"], imported["updated"], imported["unchanged"]) == (100, 5, 5)
    assert imported["by_record_type"]["vehicles"]["inserted"] == 100
    assert report["errors"]["files_rejected"] == 1
    assert report["errors"]["dead_letters_by_subject"] == {"records.processed": 1}
    assert "pass rate 91.7%" in render_text(report)
    assert "  repairs: price_text 3, image_url_invalid 1" in render_text(report)


async def _healthz_ok(http: aiohttp.ClientSession, base: str) -> bool:
    with contextlib.suppress(aiohttp.ClientConnectionError):
        status, _ = await _healthz(http, base)
        return status == 200
    return False
