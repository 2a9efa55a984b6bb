"""Scraping events from a fake Perplexity: what identifies an event is kept, a type is inferred.

The collector, processor and importer run as their ``serve`` functions on real NATS JetStream,
PostgreSQL and files; ``pipeline scrape`` asks the collector and reports what processing kept.
Only Perplexity is a fake, on 127.0.0.1, speaking its documented protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import orjson
import pytest
from click.testing import CliRunner

from services.cli import main as cli
from services.collector.app import serve as serve_collector
from services.collector.config import CollectorSettings
from services.importer.app import serve as serve_importer
from services.importer.config import ImporterSettings
from services.processor.app import serve as serve_processor
from services.processor.config import ProcessorSettings
from shared.bus import Bus
from shared.storage import DataDir
from tests.fakes.providers import Fakes, start_fakes
from tests.integration.conftest import delete_collector_buckets
from tests.polling import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.postgres, pytest.mark.timeout(120)]

CONCOURS_URL = "https://www.concoursonthegreen.example.org/2026"
AUCTION_URL = "https://www.gulfcoastmusclecars.example.com/auction"
# Two real-looking events as Perplexity answers them: no event type (the schema asks for none).
EVENTS = [
    {
        "name": "Concours on the Green",
        "start_date": "2026-05-16",
        "end_date": "2026-05-17",
        "venue": "Pine Lake Golf Club",
        "city": "Gulf Shores",
        "state": "AL",
        "url": CONCOURS_URL,
    },
    {
        "name": "Gulf Coast Muscle Car Auction",
        "start_date": "2026-06-05",
        "end_date": "2026-06-06",
        "venue": "Mississippi Coast Coliseum",
        "city": "Biloxi",
        "state": "MS",
        "url": AUCTION_URL,
    },
]
# What is still refused: no name, no date, no place (a state is a region, not a place).
INCOMPLETE = [
    {"start_date": "2026-07-11", "city": "Mobile", "state": "AL", "url": CONCOURS_URL},
    {"name": "Bayou Cruise Night", "city": "Houma", "state": "LA", "url": AUCTION_URL},
    {"name": "Delta Swap Meet", "start_date": "2026-08-01", "state": "LA", "url": AUCTION_URL},
]
SEARCH_RESULTS = [
    {"title": "Concours on the Green 2026", "url": CONCOURS_URL, "date": "2026-02-01"},
    {"title": "Gulf Coast Muscle Car Auction", "url": AUCTION_URL, "date": "2026-03-01"},
]


@pytest.fixture
async def fakes() -> AsyncIterator[Fakes]:
    """Start the fake providers; Perplexity answers the events above, with their citations."""
    async with start_fakes() as running:
        perplexity = running.state("perplexity")
        perplexity.search_results = SEARCH_RESULTS
        perplexity.answers = {"events": EVENTS}
        yield running


@pytest.fixture
async def services(
    bus: Bus, fakes: Fakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[None]:
    """Run the collector (aimed at the fake), the processor and the importer until the test ends."""
    sources = tmp_path / "sources.json"
    sources.write_bytes(orjson.dumps({"events": [{"provider": "perplexity", "query": "events"}]}))
    env = {
        **fakes.env(),
        "COLLECTOR_SOURCES_FILE": str(sources),
        "COLLECTOR_SCHEDULE_ENABLED": "false",
        "COLLECTOR_RATE_PER_S": "perplexity=100",
        "SHUTDOWN_GRACE_S": "5",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(serve_collector(CollectorSettings(), stop)),
        asyncio.create_task(serve_processor(ProcessorSettings(), stop)),
        asyncio.create_task(serve_importer(ImporterSettings(), stop)),
    ]
    try:
        await eventually(lambda: _collector_answers(bus), timeout_s=30)
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=40)
        await delete_collector_buckets(bus)


async def _collector_answers(bus: Bus) -> bool:
    with contextlib.suppress(Exception):
        await bus.nc.request(bus.names.rpc("import_date"), b'{"date": "2000-01-01"}', timeout=1)
        return True
    return False


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """Return a connection to the session database, the events table emptied once it exists."""
    conn = await asyncpg.connect(database_url)
    if await conn.fetchval("SELECT to_regclass('events') IS NOT NULL"):
        await conn.execute("TRUNCATE events RESTART IDENTITY")
    yield conn
    await conn.close()


async def _scrape() -> str:
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, cli, ["scrape", "events", "--provider", "perplexity", "--wait", "60"]
    )
    assert result.exit_code == 0, result.output
    return result.output


async def _rows(db: asyncpg.Connection, count: int) -> list[asyncpg.Record]:
    async def loaded() -> list[asyncpg.Record]:
        rows = await db.fetch(
            "SELECT name, event_type, city, enrichment FROM events ORDER BY start_date"
        )
        return rows if len(rows) == count else []

    return await eventually(loaded, timeout_s=60)


@pytest.mark.usefixtures("services")
async def test_events_without_a_type_become_rows_with_one(db: asyncpg.Connection) -> None:
    """Perplexity's two events without eventType are two rows, typed, the repair recorded."""
    output = await _scrape()
    assert "events: 2 records collected in 1 file(s): 2 valid, 0 refused" in output
    rows = await _rows(db, 2)
    assert [(r["name"], r["event_type"]) for r in rows] == [
        ("Concours on the Green", "concours"),
        ("Gulf Coast Muscle Car Auction", "auction"),
    ]
    for row, kind in zip(rows, ("concours", "auction"), strict=True):
        repairs = orjson.loads(row["enrichment"])["repairs"]
        assert {"field": "eventType", "from": None, "to": kind, "rule": "event_type_inferred"} in (
            repairs
        )


@pytest.mark.usefixtures("services")
async def test_events_without_name_date_or_place_are_refused_with_their_reasons(
    db: asyncpg.Connection, fakes: Fakes, data_dir: DataDir
) -> None:
    """No name, no date or no place is refused, and both the scrape and failed/ say why."""
    fakes.state("perplexity").answers = {"events": [*EVENTS, *INCOMPLETE]}
    output = await _scrape()
    assert "events: 5 records collected in 1 file(s): 2 valid, 3 refused" in output
    for reason in ("schema:name:missing", "schema:startDate:missing", "schema:city:missing"):
        assert f"refused 1: {reason}" in output
    assert len(await _rows(db, 2)) == 2
    failed = list(data_dir.root.glob("failed/*/validation_errors/events/perplexity_*.jsonl"))
    lines = [orjson.loads(line) for line in failed[0].read_bytes().splitlines()]
    messages = {e["field"]: e["message"] for line in lines for e in line["errors"]}
    assert messages == {
        "name": "Field required",
        "startDate": "Field required",
        "city": "an event needs a place: a city or a venue",
    }
