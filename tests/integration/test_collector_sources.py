"""The collector's API side against real NATS and the fake providers: triggers, shared limits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import nats.js.errors
import orjson
import pytest
from click.testing import CliRunner

from services.cli import main as cli
from services.collector import archive
from services.collector.app import serve
from services.collector.config import CollectorSettings
from services.collector.ratelimit import KvRateLimiter
from services.collector.schedule import KvSlotStore, Scheduler, slot_key
from shared.bus import Bus, Envelope
from shared.events import RecordType, utcnow
from shared.storage import DataDir
from tests.fakes.providers import Fakes, start_fakes
from tests.integration.conftest import delete_collector_buckets
from tests.polling import eventually

pytestmark = pytest.mark.nats

Request = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
async def fakes() -> AsyncIterator[Fakes]:
    """Start the fake providers."""
    async with start_fakes() as running:
        yield running


@pytest.fixture
async def seen(bus: Bus) -> AsyncIterator[list[Envelope]]:
    """Collect every event of the namespace with a probe consumer."""
    events: list[Envelope] = []

    async def record(envelope: Envelope) -> None:
        events.append(envelope)

    consumer = await bus.consume(">", "probe", None, record)
    yield events
    await consumer.stop(grace_s=1)


def _sources(tmp_path: Path, fakes: Fakes) -> Path:
    path = tmp_path / "sources.json"
    catalog = {
        "vehicles": [
            {"provider": "brave", "query": "mustang", "pages": 3},
            {"provider": "feed", "url": fakes.url("feed") + "/feed.json"},
        ],
        "events": [{"provider": "perplexity", "query": "concours events"}],
        "articles": [{"provider": "tavily", "query": "classic car market"}],
    }
    path.write_bytes(orjson.dumps(catalog))
    return path


@pytest.fixture
async def start_collector(
    bus: Bus, fakes: Fakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Return a starter of collectors aimed at the fakes; stopped and their buckets deleted."""
    env = {
        **fakes.env(),
        "COLLECTOR_SOURCES_FILE": str(_sources(tmp_path, fakes)),
        "COLLECTOR_SCHEDULE_ENABLED": "false",
        "COLLECTOR_RETRY_BASE_S": "0.01",
        "COLLECTOR_RATE_PER_S": "brave=100,feed=100,tavily=100,perplexity=100",
        "COLLECTOR_BURST": "20",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = CollectorSettings()
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        tasks.append(asyncio.create_task(serve(settings, stop)))
        await eventually(lambda: _answers(bus))

    yield start
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
    await delete_collector_buckets(bus)


async def _answers(bus: Bus) -> bool:
    try:
        await bus.nc.request(bus.names.rpc("import_date"), b'{"date": "2000-01-01"}', timeout=1)
    except Exception:  # noqa: BLE001 - no responders yet while the collector starts
        return False
    return True


@pytest.fixture
def request_rpc(bus: Bus) -> Request:
    """Return a function that sends a trigger and returns the parsed reply."""

    async def send(name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        msg = await bus.nc.request(bus.names.rpc(name), orjson.dumps(body or {}), timeout=20)
        reply = orjson.loads(msg.data)
        assert isinstance(reply, dict)
        return reply

    return send


def _subjects(events: list[Envelope], subject: str) -> list[dict[str, Any]]:
    return [e.data for e in events if e.subject == subject]


async def test_scrape_trigger_collects_announces_and_reports(
    start_collector: Callable[[], Awaitable[None]],
    request_rpc: Request,
    seen: list[Envelope],
    data_dir: DataDir,
) -> None:
    """``rpc scrape vehicles`` writes raw files, publishes FileCollected, ScrapeCompleted, usage."""
    await start_collector()
    reply = await request_rpc("scrape", {"type": "vehicles"})
    assert reply["ok"] is True
    assert reply["records"] == 47
    assert {r["provider"] for r in reply["runs"]} == {"brave", "feed"}
    folder = data_dir.raw(utcnow().date(), RecordType.VEHICLES)
    assert sorted(p.name for p in folder.glob("*_0*.json")) == ["brave_001.json", "feed_001.json"]

    async def announced() -> bool:
        collected = _subjects(seen, "files.collected")
        usage = _subjects(seen, "telemetry.provider_usage")
        runs = _subjects(seen, "runs.scrape_completed")
        return len(collected) == 2 and len(usage) == 2 and len(runs) == 2

    await eventually(announced)
    brave = next(e for e in _subjects(seen, "files.collected") if e["tool"] == "brave")
    assert (brave["source"], brave["record_count"]) == ("brave", 45)


async def test_one_replica_answers_a_trigger(
    start_collector: Callable[[], Awaitable[None]], request_rpc: Request, fakes: Fakes
) -> None:
    """With two collectors in the queue group, a scrape request runs once."""
    await start_collector()
    await start_collector()
    reply = await request_rpc("scrape", {"type": "vehicles", "provider": "feed"})
    assert [r["provider"] for r in reply["runs"]] == ["feed"]
    await request_rpc("import_date", {"date": "2000-01-01"})
    assert len(fakes.state("feed").requests) == 1


async def test_bad_key_raises_an_alert_event(
    start_collector: Callable[[], Awaitable[None]],
    request_rpc: Request,
    seen: list[Envelope],
    fakes: Fakes,
) -> None:
    """Perplexity answering 401 (HTML) ends in an AlertRaised on the stream."""
    fakes.state("perplexity").failures = ["401-html"]
    await start_collector()
    reply = await request_rpc("scrape", {"type": "events"})
    assert "401" in reply["runs"][0]["errors"][0]
    alerts = await eventually(lambda: _async(_subjects(seen, "alerts.raised")))
    assert alerts[0]["kind"] == "provider_auth_failed"


async def _async(value: Any) -> Any:
    return value


async def test_date_triggers_publish_commands(
    start_collector: Callable[[], Awaitable[None]],
    request_rpc: Request,
    seen: list[Envelope],
    data_dir: DataDir,
) -> None:
    """process_date, import_date and backfill (from an archive) publish one command per file."""
    day = date(2026, 1, 10)
    raw = data_dir.raw(day, RecordType.VEHICLES)
    raw.mkdir(parents=True)
    (raw / "feed_001.json").write_text("[]")
    processed = data_dir.processed(day, RecordType.VEHICLES)
    processed.mkdir(parents=True)
    (processed / "feed_001.jsonl").write_text("")
    await asyncio.to_thread(archive.cleanup, data_dir, day + timedelta(days=40), 30, 90)
    await start_collector()
    reply = await request_rpc("backfill", {"from": "2026-01-09", "to": "2026-01-11"})
    assert reply["days"]["2026-01-10"] == {"process": 1, "import": 1}
    assert reply["days"]["2026-01-09"] == {"process": 0, "import": 0}
    reply = await request_rpc("process_date", {"date": "2026-01-10"})
    assert reply["process_requested"] == ["raw/2026-01-10/vehicles/feed_001.json"]
    bad = await request_rpc("process_date", {"date": "yesterday"})
    assert bad["ok"] is False
    assert "bad request" in bad["error"]

    async def commands() -> bool:
        return (
            len(_subjects(seen, "commands.process_file")) == 2
            and len(_subjects(seen, "commands.import_file")) == 1
        )

    await eventually(commands)


async def test_cli_backfill_and_scrape(
    start_collector: Callable[[], Awaitable[None]], settings: Any
) -> None:
    """``pipeline backfill`` shows progress and exits 0; ``pipeline scrape`` prints the runs."""
    await start_collector()
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, cli, ["backfill", "--from", "2026-02-01", "--to", "2026-02-03"]
    )
    assert result.exit_code == 0, result.output
    assert "3 day(s)" in result.output
    result = await asyncio.to_thread(
        runner.invoke, cli, ["scrape", "vehicles", "--provider", "feed", "--wait", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "vehicles: 2 records collected in 1 file(s)\n" in result.output


async def test_cli_without_collector_exits_2(settings: Any) -> None:
    """No collector answering: the CLI says so and exits 2."""
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["full", "--timeout", "2"])
    assert result.exit_code == 2
    assert "no collector answers" in result.output


async def test_rate_limit_budget_is_shared_between_replicas(bus: Bus) -> None:
    """Two limiters on one KV bucket draw from one budget; a block is seen by both."""
    now = [1000.0]
    first = await KvRateLimiter.open(bus, {"brave": 1.0}, burst=2.0)
    second = KvRateLimiter(kv=first.kv, rates={"brave": 1.0}, burst=2.0)
    first.clock = second.clock = lambda: now[0]
    try:
        assert await first.try_acquire("brave") == 0.0
        assert await second.try_acquire("brave") == 0.0
        assert await first.try_acquire("brave") == pytest.approx(1.0)
        assert await second.try_acquire("brave") == pytest.approx(1.0)
        now[0] += 1.0
        assert await second.try_acquire("brave") == 0.0
        await first.block("brave", 30.0)
        now[0] += 5.0
        assert await second.try_acquire("brave") == pytest.approx(25.0)
        results = await asyncio.gather(*(lim.try_acquire("tavily") for lim in (first, second) * 3))
        assert sorted(results)[:2] == [0.0, 0.0]
        assert all(r > 0 for r in sorted(results)[2:])
    finally:
        await bus.js.delete_key_value(KvRateLimiter.bucket_name(bus))


async def test_kv_limiter_waits_for_the_shared_budget_and_reopens_its_bucket(bus: Bus) -> None:
    """``acquire`` sleeps until the shared bucket has a token; a second open finds the bucket."""
    now = [1000.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = await KvRateLimiter.open(bus, {"brave": 2.0}, burst=1.0)
    try:
        assert KvRateLimiter.bucket_name(bus) == limiter.kv._name
        limiter.clock, limiter.sleep = (lambda: now[0]), sleep
        await limiter.acquire("brave")
        await limiter.acquire("brave")
        assert waits == [pytest.approx(0.5)]  # a wait under a second is waited too
        again = await KvRateLimiter.open(bus, {"brave": 2.0}, burst=1.0)
        again.clock = lambda: now[0]
        assert await again.try_acquire("brave") == pytest.approx(0.5)  # the same budget
        status = await limiter.kv.status()
        assert status.history == 1
    finally:
        await bus.js.delete_key_value(KvRateLimiter.bucket_name(bus))


async def test_schedule_slot_runs_once_across_replicas(bus: Bus) -> None:
    """Two schedulers on the namespace's KV bucket: a slot is claimed and run by one."""
    clock_now = [datetime(2026, 7, 1, 9, 10, tzinfo=UTC)]
    ran: list[str] = []

    async def job() -> None:
        ran.append("process_redrive")

    store = await KvSlotStore.open(bus)
    try:
        schedulers = [
            Scheduler(
                {"process_redrive": "15 * * * *"},
                {"process_redrive": job},
                store,
                ZoneInfo("America/Los_Angeles"),
                clock=lambda: clock_now[0],
            )
            for _ in range(2)
        ]
        for scheduler in schedulers:
            await scheduler.start()
        clock_now[0] += timedelta(minutes=10)
        done = await asyncio.gather(*(s.tick() for s in schedulers))
        assert sorted(done) == [[], ["process_redrive"]]
        assert ran == ["process_redrive"]
        assert await store.get_last("process_redrive") == datetime(
            2026, 7, 1, 2, 15, tzinfo=ZoneInfo("America/Los_Angeles")
        )
    finally:
        await _drop_schedule_buckets(bus)


async def _drop_schedule_buckets(bus: Bus) -> None:
    for bucket in (bus.names.schedule_bucket, bus.names.schedule_claims_bucket):
        with contextlib.suppress(Exception):
            await bus.js.delete_key_value(bucket)


async def test_a_slot_claim_is_gone_after_its_ttl_and_the_last_mark_stays(bus: Bus) -> None:
    """Claims live in their own bucket with a TTL; ``last.<job>`` marks never expire."""
    store = await KvSlotStore.open(bus, claim_ttl_s=1.0)
    try:
        key = slot_key("cleanup", datetime(2026, 7, 1, 7, 0, tzinfo=UTC))
        assert await store.claim(key)
        assert not await store.claim(key)
        slot = datetime(2026, 7, 1, 0, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
        await store.set_last("cleanup", slot)

        async def claim_gone() -> bool:
            try:
                await store.claims.get(key)
            except nats.js.errors.KeyNotFoundError:
                return True
            return False

        await eventually(claim_gone, timeout_s=20)
        assert await store.get_last("cleanup") == slot
        info = await bus.js.stream_info(f"KV_{bus.names.schedule_bucket}")
        assert info.config.max_age in (None, 0)
    finally:
        await _drop_schedule_buckets(bus)


async def test_claims_of_the_old_bucket_move_to_the_claims_bucket(bus: Bus) -> None:
    """An upgraded collector does not re-run a slot claimed in the old ``<ns>_schedule`` bucket;
    the old claims leave that bucket, the last-run marks stay."""
    old = await bus.js.create_key_value(bucket=bus.names.schedule_bucket, history=1)
    recent = slot_key("process_redrive", utcnow().replace(second=0, microsecond=0))
    ancient = slot_key("process_redrive", datetime(2020, 1, 1, 0, 15, tzinfo=UTC))
    try:
        for key in (recent, ancient):
            await old.create(key, b"1")
        await old.put("last.process_redrive", b"2020-01-01T00:15:00+00:00")

        store = await KvSlotStore.open(bus)

        assert not await store.claim(recent)  # claimed before the upgrade: not run again
        assert await store.claim(ancient)  # older than the TTL: only removed
        assert await store.marks.keys() == ["last.process_redrive"]
        assert await store.get_last("process_redrive") == datetime(2020, 1, 1, 0, 15, tzinfo=UTC)
        info = await bus.js.stream_info(f"KV_{bus.names.schedule_bucket}")
        assert info.state.messages == 1
        await KvSlotStore.open(bus)  # opening again finds nothing to move
    finally:
        await _drop_schedule_buckets(bus)
