"""The importer against the real PostgreSQL (and JetStream for the full service)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
import structlog

from services.importer import schema
from services.importer.app import serve
from services.importer.config import ImporterSettings
from services.importer.handlers import Deps, handle_batch_processed
from shared import subjects
from shared.bus import Bus
from shared.errors import BadInputError, PermanentError
from shared.events import BatchImported, BatchProcessed, Event, RecordType
from shared.records import LINK_FIELDS, Article, CarEvent, Vehicle, processed_columns
from shared.settings import PipelineSettings
from shared.storage import DataDir
from tests.conftest import ADMIN_DSN, dsn_for, unique
from tests.polling import eventually

pytestmark = [pytest.mark.postgres]

DAY = "2026-11-29"
MIGRATIONS = Path(schema.__file__).with_name("migrations")
VEHICLES_FILE = f"processed/{DAY}/vehicles/drop_001.jsonl"
TABLES = (
    "vehicles",
    "events",
    "articles",
    "import_batches",
    "field_history",
    "vehicle_observations",
)


class RecordingBus:
    """A publisher that keeps what it is given (the handler's only use of the bus)."""

    def __init__(self) -> None:
        """Start with nothing published."""
        self.published: list[Event] = []

    async def publish(self, event: Event) -> None:
        """Record the event."""
        self.published.append(event)


# ---- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def migrated_url(database_url: str) -> str:
    """Return the session database with the importer's schema applied."""
    conn = await asyncpg.connect(database_url)
    try:
        await schema.migrate(conn)
    finally:
        await conn.close()
    return database_url


@pytest.fixture
async def pool(migrated_url: str) -> AsyncIterator[asyncpg.Pool]:
    """Return a pool on the migrated database, with the importer's tables emptied."""
    async with asyncpg.create_pool(migrated_url, min_size=1, max_size=4) as opened:
        await opened.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
        yield opened


@pytest.fixture
async def fresh_url() -> AsyncIterator[str]:
    """Return a new empty database of its own, dropped after the test."""
    name = unique("importer_mig_")
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield dsn_for(name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def recorder() -> RecordingBus:
    """Return a bus fake that records publishes."""
    return RecordingBus()


@pytest.fixture
def deps(pool: asyncpg.Pool, recorder: RecordingBus, data_dir: DataDir) -> Deps:
    """Return handler dependencies with chunks of 100 rows."""
    return Deps(pool=pool, bus=recorder, data_dir=data_dir, chunk_size=100)


# ---- helpers --------------------------------------------------------------------------------


def lineage(position: int, batch_id: str = "batch-1") -> dict[str, Any]:
    """Return the lineage keys the processor adds to a record."""
    return {
        "raw_file": f"raw/{DAY}/vehicles/drop_001.json",
        "record_position": position,
        "batch_id": batch_id,
        "processed_at": f"{DAY}T10:00:00Z",
        "pipeline_version": "1.0.0",
    }


def vehicle_line(i: int, price: int | None = None, **lineage_changes: Any) -> dict[str, Any]:
    """Return one processed vehicle line whose keys are exactly the processed columns."""
    vehicle = Vehicle(
        source_name="drop",
        make=("Ford", "Chevrolet", "Porsche", "Jaguar")[i % 4],
        model=f"Model {i}",
        year=1950 + i % 50,
        price=Decimal(price if price is not None else 20_000 + i),
        description=f"A well kept classic number {i}",
        location_city="Tulsa",
        stock_number=f"S{i:04d}",
    )
    line = {
        **vehicle.to_row(),
        "investment_grade": "B",
        "grade_rule": "default",
        **dict.fromkeys(LINK_FIELDS),
    }
    line.update({**lineage(i), **lineage_changes})
    assert tuple(line) == processed_columns(RecordType.VEHICLES)
    return line


def write_jsonl(data_dir: DataDir, relative: str, lines: list[dict[str, Any]] | list[bytes]) -> str:
    """Write processed lines (dicts, or raw bytes for broken lines) under the data folder."""
    path = data_dir.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"".join((x if isinstance(x, bytes) else orjson.dumps(x)) + b"\n" for x in lines)
    )
    return relative


def write_raw_meta(data_dir: DataDir, day: str, name: str, collected_at: str) -> None:
    """Write the raw folder's ``meta.json`` as the collector does: ``name`` collected at
    ``collected_at`` (ISO 8601)."""
    folder = data_dir.root / f"raw/{day}/vehicles"
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"files": [{"file": name, "collected_at": collected_at}]}
    (folder / "meta.json").write_bytes(orjson.dumps(meta))


def batch_event(relative: str, batch_id: str = "batch-1", **changes: Any) -> BatchProcessed:
    """Return the BatchProcessed event the processor would publish for a file."""
    fields: dict[str, Any] = {
        "batch_id": batch_id,
        "record_type": RecordType.VEHICLES,
        "source": "drop",
        "raw_path": f"raw/{DAY}/vehicles/drop_001.json",
        "processed_path": relative,
        "records_read": 0,
        "records_valid": 0,
        "records_invalid": 0,
        "duplicates_in_batch": 0,
        "duration_s": 0.1,
    }
    return BatchProcessed(**{**fields, **changes})


async def snapshot(pool: asyncpg.Pool, table: str = "vehicles") -> dict[str, tuple[Any, ...]]:
    """Return each row's id, price-like data, lineage and timestamps keyed by data_hash."""
    rows = await pool.fetch(f"SELECT id, data_hash, batch_id, updated_at, created_at FROM {table}")
    return {
        r["data_hash"]: (r["id"], r["batch_id"], r["updated_at"], r["created_at"]) for r in rows
    }


def last_imported(recorder: RecordingBus) -> BatchImported:
    """Return the last BatchImported the handler published."""
    event = recorder.published[-1]
    assert isinstance(event, BatchImported)
    return event


# ---- schema ---------------------------------------------------------------------------------


async def test_migrations_apply_once_when_run_concurrently(fresh_url: str) -> None:
    """Four importers migrating at once apply each migration exactly once, tables and indexes."""
    conns = [await asyncpg.connect(fresh_url) for _ in range(4)]
    try:
        results = await asyncio.gather(*(schema.migrate(conn) for conn in conns))
        again = await schema.migrate(conns[0])
        recorded = await conns[0].fetchval(
            "SELECT count(*) FROM schema_migrations WHERE component = 'importer'"
        )
        tables = {r["tablename"] for r in await conns[0].fetch("SELECT tablename FROM pg_tables")}
        indexes = {r["indexname"] for r in await conns[0].fetch("SELECT indexname FROM pg_indexes")}
        trgm = await conns[0].fetchval("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    finally:
        await asyncio.gather(*(conn.close() for conn in conns))
    versions = sorted(p.stem for p in MIGRATIONS.glob("[0-9][0-9][0-9]_*.sql"))
    assert sorted(v for applied in results for v in applied) == versions
    assert again == []
    assert recorded == len(versions)
    assert set(TABLES) <= tables
    assert {
        "vehicles_search_idx",
        "events_search_idx",
        "articles_search_idx",
        "vehicles_make_model_trgm_idx",
        "events_name_trgm_idx",
        "articles_title_trgm_idx",
    } <= indexes
    assert trgm == 1


@pytest.mark.parametrize("record_type", list(RecordType))
async def test_each_table_has_a_column_per_processed_key(
    pool: asyncpg.Pool, record_type: RecordType
) -> None:
    """Every key of a processed line has its column, plus id, timestamps and search vector."""
    rows = await pool.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $1",
        record_type.value,
    )
    columns = {r["column_name"] for r in rows}
    extra = {"id", "created_at", "updated_at", "imported_at", "collected_at", "search_vector"}
    assert columns == set(processed_columns(record_type)) | extra


# ---- loading --------------------------------------------------------------------------------


async def test_batch_loads_in_chunks_and_is_announced(
    deps: Deps, recorder: RecordingBus, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """250 lines load in three chunks of 100, the batch is recorded and BatchImported published."""
    relative = write_jsonl(data_dir, VEHICLES_FILE, [vehicle_line(i) for i in range(250)])
    event = batch_event(relative)
    await handle_batch_processed(event, deps)
    imported = last_imported(recorder)
    batch = await pool.fetchrow("SELECT * FROM import_batches WHERE batch_id = 'batch-1'")
    found = await pool.fetchval(
        "SELECT count(*) FROM vehicles WHERE search_vector @@ plainto_tsquery('english', 'porsche')"
    )
    one = await pool.fetchrow(
        "SELECT price, year, processed_at FROM vehicles WHERE stock_number = 'S0007'"
    )
    assert await pool.fetchval("SELECT count(*) FROM vehicles") == 250
    assert (imported.rows_total, imported.inserted, imported.updated) == (250, 250, 0)
    assert (imported.unchanged, imported.failed, imported.chunks) == (0, 0, 3)
    assert imported.processed_path == relative
    assert imported.event_id != event.event_id
    assert batch is not None
    assert (batch["rows_total"], batch["inserted"], batch["chunks"]) == (250, 250, 3)
    assert found == 62  # i % 4 == 2 for i in 0..249
    assert one["price"] == Decimal("20007.00")
    assert one["year"] == 1957
    assert one["processed_at"].isoformat() == f"{DAY}T10:00:00+00:00"


async def test_loading_the_same_batch_twice_changes_nothing(
    deps: Deps, recorder: RecordingBus, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """A redelivered batch keeps the same ids and updated_at, and reports all rows unchanged."""
    relative = write_jsonl(data_dir, VEHICLES_FILE, [vehicle_line(i) for i in range(120)])
    event = batch_event(relative)
    await handle_batch_processed(event, deps)
    before = await snapshot(pool)
    await handle_batch_processed(event, deps)  # the bus redelivers the same message
    after = await snapshot(pool)
    second = last_imported(recorder)
    assert after == before
    assert len(after) == 120
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 120)
    first = next(e for e in recorder.published if isinstance(e, BatchImported))
    assert first.event_id == second.event_id  # replay is deduplicated by id


async def test_changed_price_updates_the_row_and_its_lineage(
    deps: Deps, recorder: RecordingBus, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """A new price updates the same row, with the new batch's lineage and a later updated_at."""
    lines = [vehicle_line(i) for i in range(10)]
    await handle_batch_processed(batch_event(write_jsonl(data_dir, VEHICLES_FILE, lines)), deps)
    before = await snapshot(pool)
    changed = [vehicle_line(i, batch_id="batch-2") for i in range(10)]
    changed[4] = vehicle_line(4, price=99_999, batch_id="batch-2")
    relative = write_jsonl(data_dir, f"processed/{DAY}/vehicles/drop_002.jsonl", changed)
    await handle_batch_processed(batch_event(relative, batch_id="batch-2"), deps)
    after = await snapshot(pool)
    key = changed[4]["data_hash"]
    price = await pool.fetchval("SELECT price FROM vehicles WHERE data_hash = $1", key)
    imported = last_imported(recorder)
    assert (imported.inserted, imported.updated, imported.unchanged) == (0, 1, 9)
    assert price == Decimal("99999.00")
    assert after[key][0] == before[key][0]  # same id
    assert after[key][1] == "batch-2"
    assert after[key][2] > before[key][2]
    assert after[key][3] == before[key][3]  # created_at kept
    assert {k: v for k, v in after.items() if k != key} == {
        k: v for k, v in before.items() if k != key
    }


async def test_duplicates_across_files_and_within_a_file_give_one_row(
    deps: Deps, recorder: RecordingBus, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """A record in two files, or twice in a file, is one row; lineage alone changes nothing."""
    first = [vehicle_line(i) for i in range(5)] + [vehicle_line(2, record_position=9)]
    await handle_batch_processed(batch_event(write_jsonl(data_dir, VEHICLES_FILE, first)), deps)
    second = [vehicle_line(i, batch_id="batch-2", raw_file="raw/x/drop_002.json") for i in range(5)]
    relative = write_jsonl(data_dir, f"processed/{DAY}/vehicles/drop_002.jsonl", second)
    await handle_batch_processed(batch_event(relative, batch_id="batch-2"), deps)
    rows = await pool.fetch("SELECT batch_id, record_position FROM vehicles ORDER BY stock_number")
    first_import, second_import = (e for e in recorder.published if isinstance(e, BatchImported))
    assert len(rows) == 5
    assert {r["batch_id"] for r in rows} == {"batch-1"}
    assert rows[2]["record_position"] == 9  # the later duplicate in a chunk wins
    assert (first_import.inserted, first_import.unchanged) == (5, 1)
    assert (second_import.inserted, second_import.updated, second_import.unchanged) == (0, 0, 5)


async def test_concurrent_imports_of_one_file_give_one_row_per_record(
    deps: Deps, recorder: RecordingBus, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """Two importers loading the same batch at once insert each record once between them."""
    relative = write_jsonl(data_dir, VEHICLES_FILE, [vehicle_line(i) for i in range(300)])
    await asyncio.gather(*(handle_batch_processed(batch_event(relative), deps) for _ in range(2)))
    reports = [e for e in recorder.published if isinstance(e, BatchImported)]
    assert await pool.fetchval("SELECT count(*) FROM vehicles") == 300
    assert sum(r.inserted for r in reports) == 300
    assert sum(r.updated for r in reports) == 0


async def test_rows_the_database_refuses_are_isolated(
    deps: Deps, recorder: RecordingBus, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """A too-long make and a broken line go to import_errors; the other rows are loaded."""
    lines: list[Any] = [orjson.dumps(vehicle_line(i)) for i in range(250)]
    bad = vehicle_line(137)
    bad["make"] = "X" * 101
    lines[137] = orjson.dumps(bad)
    lines[200] = b'{"make": "truncated'
    relative = write_jsonl(data_dir, VEHICLES_FILE, lines)
    with structlog.testing.capture_logs() as logs:
        await handle_batch_processed(batch_event(relative), deps)
    imported = last_imported(recorder)
    refused = [e for e in logs if e["event"] == "import.row_refused"]
    assert [(e["line"], "too long" in e["error"]) for e in refused] == [(138, True)]
    splits = [e for e in logs if e["event"] == "import.chunk_split"]
    assert splits, "the chunk holding the refused row was not split"
    assert all(e["rows"] > 1 and "too long" in e["error"] for e in splits)
    errors_file = data_dir.root / f"failed/{DAY}/import_errors/vehicles/drop_001.jsonl"
    errors = [orjson.loads(x) for x in errors_file.read_bytes().splitlines()]
    failed = await pool.fetchval("SELECT failed FROM import_batches WHERE batch_id = 'batch-1'")
    assert await pool.fetchval("SELECT count(*) FROM vehicles") == 248
    assert (imported.rows_total, imported.inserted, imported.failed) == (250, 248, 2)
    assert failed == 2
    assert [e["line"] for e in errors] == [138, 201]
    assert errors[0]["row"]["make"] == "X" * 101
    assert "too long" in errors[0]["error"]
    assert errors[0]["batch_id"] == "batch-1"
    assert errors[0]["processed_path"] == relative
    assert errors[1]["row"] == '{"make": "truncated'
    assert not list(errors_file.parent.glob(".tmp-*"))


async def test_events_and_articles_load_with_dates_and_tags(
    deps: Deps, recorder: RecordingBus, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """Event dates and article tags reach their typed columns and the search vectors."""
    car_event = CarEvent(
        source_name="feed",
        name="Pebble Beach Concours",
        event_type="Concours",
        start_date="2026-08-16",
        city="Pebble Beach",
        venue="The Lodge",
    )
    article = Article(
        source_name="feed",
        title="Mustang prices climb",
        url="https://example.com/a",
        tags=["mustang", "market"],
        published_date="2026-11-28",
    )
    for record, record_type in ((car_event, RecordType.EVENTS), (article, RecordType.ARTICLES)):
        relative = f"processed/{DAY}/{record_type.value}/feed_001.jsonl"
        write_jsonl(data_dir, relative, [{**record.to_row(), **lineage(0)}])
        event = batch_event(relative, batch_id=f"b-{record_type.value}", record_type=record_type)
        await handle_batch_processed(event, deps)
    stored_event = await pool.fetchrow("SELECT * FROM events")
    stored_article = await pool.fetchrow("SELECT * FROM articles")
    hit = await pool.fetchval(
        "SELECT count(*) FROM events WHERE search_vector @@ plainto_tsquery('english', 'lodge')"
    )
    assert [e.inserted for e in recorder.published if isinstance(e, BatchImported)] == [1, 1]
    assert stored_event["start_date"].isoformat() == "2026-08-16"
    assert stored_event["event_type"] == "concours"
    assert stored_event["country"] == "US"
    assert stored_article["tags"] == ["mustang", "market"]
    assert stored_article["published_date"].isoformat() == "2026-11-28"
    assert hit == 1


async def test_missing_file_is_permanent_and_escapes_are_refused(deps: Deps) -> None:
    """A processed file that does not exist, or a path outside processed/, cannot be retried."""
    with pytest.raises(PermanentError, match="cannot read processed file"):
        await handle_batch_processed(batch_event(f"processed/{DAY}/vehicles/none.jsonl"), deps)
    with pytest.raises(BadInputError):
        await handle_batch_processed(batch_event("raw/../../etc/passwd"), deps)


# ---- the service ----------------------------------------------------------------------------


@pytest.fixture
def importer_settings(
    settings: PipelineSettings, monkeypatch: pytest.MonkeyPatch
) -> ImporterSettings:
    """Return importer settings for this test's namespace, with chunks of 100 rows."""
    monkeypatch.setenv("IMPORTER_CHUNK_SIZE", "100")
    monkeypatch.setenv("SHUTDOWN_GRACE_S", "5")
    return ImporterSettings()


@pytest.mark.nats
async def test_service_imports_a_published_batch(
    importer_settings: ImporterSettings, bus: Bus, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """The running service imports a BatchProcessed from JetStream and announces BatchImported."""
    seen: list[BatchImported] = []

    async def probe(event: BatchImported) -> None:
        seen.append(event)

    relative = write_jsonl(data_dir, VEHICLES_FILE, [vehicle_line(i) for i in range(150)])
    listener = await bus.consume(subjects.RECORDS_IMPORTED, "probe", BatchImported, probe)
    stop = asyncio.Event()
    service = asyncio.create_task(serve(importer_settings, stop))
    try:
        await bus.publish(batch_event(relative, records_read=150, records_valid=150))

        async def loaded() -> bool:
            return await pool.fetchval("SELECT count(*) FROM vehicles") == 150

        async def announced() -> list[BatchImported]:
            return seen

        await eventually(loaded)
        imported = (await eventually(announced))[0]
    finally:
        stop.set()
        await asyncio.wait_for(service, timeout=30)
        await listener.stop(grace_s=1)
    assert (imported.inserted, imported.chunks, imported.failed) == (150, 2, 0)
    assert imported.batch_id == "batch-1"
    assert service.exception() is None
