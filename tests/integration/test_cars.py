"""Cars: observations written by the real importer, the car view and the signals, in PostgreSQL."""

# The shared fixtures live in test_importer.py; tests take them as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from services.importer import app, cars, schema
from services.importer.config import ImporterSettings
from services.importer.handlers import Deps, handle_batch_processed, handle_import_file
from shared.events import BatchImported, ImportFile
from shared.records import LINK_FIELDS, Vehicle
from shared.storage import DataDir
from tests.integration.test_importer import (  # noqa: F401 - fixtures
    RecordingBus,
    batch_event,
    deps,
    migrated_url,
    pool,
    recorder,
    write_jsonl,
    write_raw_meta,
)
from tests.integration.test_importer_roles import owner_and_app  # noqa: F401
from tests.integration.test_importer_seed_migration import old_database  # noqa: F401

pytestmark = [pytest.mark.postgres]

DAY_1, DAY_2 = "2026-12-01", "2026-12-02"
RELISTED_LOWER_SQL = """
SELECT DISTINCT later.car_id
FROM car_observations AS earlier
JOIN car_observations AS later ON later.car_id = earlier.car_id
WHERE later.site <> earlier.site
  AND later.observed_at = later.listing_first_seen
  AND later.observed_at > earlier.observed_at
  AND later.observed_at <= earlier.observed_at + interval '30 days'
  AND later.price < earlier.price
"""


def listing(
    site: str, stock: str, price: int, day: str, canonical: str | None = None, **extra: Any
) -> dict[str, Any]:
    """Return a processed line of the 1970 Chevelle SS as ``site`` lists it on ``day``."""
    vehicle = Vehicle(
        source_name=site,
        source_url=f"https://{site}.example/listing/{stock}",
        make="Chevrolet",
        model="Chevelle SS",
        year=1970,
        price=Decimal(price),
        description="Numbers matching 454, Cranberry Red, 4-speed",
        location_city="Tulsa",
        stock_number=stock,
    )
    line = {**vehicle.to_row(), "investment_grade": "B", "grade_rule": "default"}
    line.update(dict.fromkeys(LINK_FIELDS))
    line.update(
        canonical_hash=canonical,
        match_score=91.5 if canonical else None,
        raw_file=f"raw/{day}/vehicles/{site}_001.json",
        record_position=0,
        batch_id=f"{site}-{day}",
        processed_at=f"{day}T10:00:00+00:00",
        pipeline_version="1.0.0",
    )
    line.update(extra)
    return line


def market(percentile: float) -> dict[str, Any]:
    """Return the processor's enrichment with a market context (median 52,000 of 14 listings)."""
    context = {"comparables": 14, "median": 52_000.0, "percentile": percentile, "sampled": False}
    return {"market": {**context, "source": "processor_known_vehicles"}}


async def drop(deps: Deps, data_dir: DataDir, lines: list[dict[str, Any]]) -> str:
    """Write the lines as the processed file of their batch and import it; return its path."""
    first = lines[0]
    day = first["raw_file"].split("/")[1]
    relative = f"processed/{day}/vehicles/{first['batch_id']}.jsonl"
    write_jsonl(data_dir, relative, lines)
    event = batch_event(
        relative,
        batch_id=first["batch_id"],
        source=first["source_name"],
        raw_path=first["raw_file"],
    )
    await handle_batch_processed(event, deps)
    return relative


async def observations(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """Return every observation, in a stable order."""
    rows = await pool.fetch(
        "SELECT data_hash, batch_id, observed_at, price, source_name FROM vehicle_observations "
        "ORDER BY observed_at, data_hash, batch_id"
    )
    return [dict(r) for r in rows]


async def car_of(pool: asyncpg.Pool, ref: str) -> dict[str, Any]:
    """Return the car of a listing id or URL, which must exist."""
    async with pool.acquire() as conn:
        car_hash = await cars.find(conn, ref)
        assert car_hash is not None
        car = await cars.load(conn, car_hash)
    assert car is not None
    return car


async def walkthrough(deps: Deps, data_dir: DataDir) -> tuple[dict[str, Any], dict[str, Any]]:
    """Day 1: dealer-a lists the car at 50,000. Day 2: dealer-a still lists it (unchanged) and
    auction-b lists it at 46,000, linked by the processor to dealer-a's listing."""
    first = listing("dealer-a", "A1", 50_000, DAY_1, enrichment=market(48.0))
    await drop(deps, data_dir, [first])
    await drop(deps, data_dir, [listing("dealer-a", "A1", 50_000, DAY_2, enrichment=market(48.0))])
    relist = listing("auction-b", "B7", 46_000, DAY_2, canonical=first["data_hash"])
    relist.update(processed_at=f"{DAY_2}T11:00:00+00:00", enrichment=market(31.0))
    await drop(deps, data_dir, [relist])
    return first, relist


async def test_an_unchanged_reimport_is_recorded_as_seen(
    deps: Deps, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """A listing scraped again unchanged leaves its row alone and adds one observation."""
    await drop(deps, data_dir, [listing("dealer-a", "A1", 50_000, DAY_1)])
    stamp = await pool.fetchval("SELECT updated_at FROM vehicles")
    await drop(deps, data_dir, [listing("dealer-a", "A1", 50_000, DAY_2)])
    seen = await observations(pool)
    assert [(o["batch_id"], o["observed_at"], o["price"]) for o in seen] == [
        ("dealer-a-2026-12-01", datetime(2026, 12, 1, 10, tzinfo=UTC), Decimal("50000.00")),
        ("dealer-a-2026-12-02", datetime(2026, 12, 2, 10, tzinfo=UTC), Decimal("50000.00")),
    ]
    assert await pool.fetchval("SELECT updated_at FROM vehicles") == stamp
    car = await car_of(pool, str(await pool.fetchval("SELECT id FROM vehicles")))
    assert car["signals"]["days_on_market"] == 1.0
    assert [e["kind"] for e in car["timeline"]] == ["listed", "seen"]
    assert car["listings"][0]["last_seen"] == datetime(2026, 12, 2, 10, tzinfo=UTC)


async def test_redelivery_redrop_and_reprocessing_add_no_observation(
    deps: Deps, data_dir: DataDir, pool: asyncpg.Pool, recorder: RecordingBus
) -> None:
    """The same batch imported again (redelivered, re-dropped, by command) changes nothing."""
    lines = [listing("dealer-a", f"A{i}", 50_000 + i, DAY_1, record_position=i) for i in range(5)]
    relative = await drop(deps, data_dir, lines)
    before = await observations(pool)
    await drop(deps, data_dir, lines)  # redelivery of the same BatchProcessed
    await handle_import_file(ImportFile(path=relative), deps)  # a re-drive by command
    changed = [dict(line, processed_at=f"{DAY_2}T09:00:00+00:00") for line in lines]
    await drop(deps, data_dir, changed)  # reprocessed later: same batch, new processed_at
    assert await observations(pool) == before
    assert len(before) == 5
    imported = [e for e in recorder.published if isinstance(e, BatchImported)]
    assert [(e.rows_total, e.failed) for e in imported] == [(5, 0)] * 4


async def test_two_replicas_importing_one_batch_record_it_once(
    migrated_url: str, recorder: RecordingBus, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """Two importers loading the same batch at once leave one observation per listing."""
    lines = [listing("dealer-a", f"A{i}", 40_000 + i, DAY_1, record_position=i) for i in range(300)]
    relative = write_jsonl(data_dir, "processed/2026-12-01/vehicles/dealer-a.jsonl", lines)
    event = batch_event(relative, batch_id="dealer-a-2026-12-01", raw_path=lines[0]["raw_file"])
    async with asyncpg.create_pool(migrated_url, min_size=1, max_size=2) as other:
        replicas = [
            Deps(pool=p, bus=recorder, data_dir=data_dir, chunk_size=50) for p in (pool, other)
        ]
        await asyncio.gather(*(handle_batch_processed(event, d) for d in replicas))
    assert await pool.fetchval("SELECT count(*) FROM vehicle_observations") == 300
    assert await pool.fetchval("SELECT count(DISTINCT data_hash) FROM vehicle_observations") == 300


async def test_observed_at_is_the_collection_time_from_meta_json(
    deps: Deps, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """A listing is seen when its raw file was collected, when the collector recorded it."""
    write_raw_meta(data_dir, DAY_1, "dealer-a_001.json", f"{DAY_1}T06:15:00+00:00")
    await drop(deps, data_dir, [listing("dealer-a", "A1", 50_000, DAY_1)])
    assert [o["observed_at"] for o in await observations(pool)] == [
        datetime(2026, 12, 1, 6, 15, tzinfo=UTC)
    ]


async def test_a_car_relisted_lower_on_another_site_tells_its_story(
    deps: Deps, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """Listed on day 1, relisted 8 % lower on another site on day 2: timeline and signals."""
    first, relist = await walkthrough(deps, data_dir)
    car = await car_of(pool, relist["source_url"])  # found by the relisting's URL
    car_id = await pool.fetchval("SELECT id FROM vehicles WHERE data_hash = $1", first["data_hash"])
    assert (car["car_id"], car["car_hash"]) == (car_id, first["data_hash"])
    assert [(x["site"], x["first_seen"].day, x["last_seen"].day) for x in car["listings"]] == [
        ("dealer-a", 1, 2),
        ("auction-b", 2, 2),
    ]
    assert [(e["kind"], e["site"], e["price"]) for e in car["timeline"]] == [
        ("listed", "dealer-a", Decimal("50000.00")),
        ("seen", "dealer-a", Decimal("50000.00")),
        ("relisted", "auction-b", Decimal("46000.00")),
    ]
    signals = car["signals"]
    assert (signals["sites"], signals["listings"], signals["lowest_price"]) == (
        2,
        2,
        Decimal("46000.00"),
    )
    assert signals["days_on_market"] == 1.0
    assert signals["price_changes"] == {
        "count": 1,
        "first": Decimal("50000.00"),
        "latest": Decimal("46000.00"),
        "change_pct": -8.0,
    }
    [relisted] = signals["relisted"]
    assert (relisted["site"], relisted["previous_site"], relisted["change_pct"]) == (
        "auction-b",
        "dealer-a",
        -8.0,
    )
    assert relisted["at"] == datetime(2026, 12, 2, 11, tzinfo=UTC)
    assert relisted["days_after_first_seen"] == 1.0
    assert await pool.fetchval(RELISTED_LOWER_SQL) == car_id
    assert (signals["market"]["percentile"], signals["market"]["lowest_vs_median_pct"]) == (
        31.0,
        -11.5,
    )


async def test_a_price_cut_on_one_site_is_a_price_change(
    deps: Deps, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """A listing seen at a lower price the next day counts one change, from first to latest."""
    await drop(deps, data_dir, [listing("dealer-a", "A1", 50_000, DAY_1)])
    await drop(deps, data_dir, [listing("dealer-a", "A1", 47_500, DAY_2)])
    car = await car_of(pool, str(await pool.fetchval("SELECT id FROM vehicles")))
    assert [(e["kind"], e["previous_price"]) for e in car["timeline"]] == [
        ("listed", None),
        ("price_change", Decimal("50000.00")),
    ]
    assert car["signals"]["price_changes"]["change_pct"] == -5.0
    assert car["signals"]["relisted"] == []
    assert await pool.fetchval(RELISTED_LOWER_SQL) is None  # the same site is no relisting


async def test_unlinking_a_listing_moves_it_out_of_the_car(
    deps: Deps, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """Clearing canonical_hash makes the relisting its own car, in the view and the signals."""
    first, relist = await walkthrough(deps, data_dir)
    await pool.execute(
        "UPDATE vehicles SET canonical_hash = NULL WHERE data_hash = $1", relist["data_hash"]
    )
    car = await car_of(pool, first["source_url"])
    assert [x["site"] for x in car["listings"]] == ["dealer-a"]
    assert car["signals"]["relisted"] == []
    alone = await car_of(pool, relist["source_url"])
    assert (alone["car_hash"], alone["signals"]["sites"]) == (relist["data_hash"], 1)
    assert await pool.fetchval(RELISTED_LOWER_SQL) is None
    assert await pool.fetchval("SELECT count(DISTINCT car_id) FROM car_observations") == 2


async def test_the_view_has_one_row_per_listing_and_observation(
    deps: Deps, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """car_observations: the car's id on every observation of every listing, with the spans."""
    first, _ = await walkthrough(deps, data_dir)
    rows = await pool.fetch(
        "SELECT car_id, site, price, listing_first_seen, listing_last_seen FROM car_observations "
        "ORDER BY observed_at"
    )
    car_id = await pool.fetchval("SELECT id FROM vehicles WHERE data_hash = $1", first["data_hash"])
    assert [(r["car_id"], r["site"]) for r in rows] == [
        (car_id, "dealer-a"),
        (car_id, "dealer-a"),
        (car_id, "auction-b"),
    ]
    assert rows[0]["listing_last_seen"] == datetime(2026, 12, 2, 10, tzinfo=UTC)
    market = await pool.fetchrow(
        "SELECT market_median, market_percentile, market_comparables FROM car_observations "
        "WHERE site = 'auction-b'"
    )
    assert tuple(market) == (Decimal("52000.00"), 31.0, 14)


async def test_search_summaries_count_sites_and_the_lowest_price(
    deps: Deps, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """Each listing of a car names the same car, two sites, and the lowest current price."""
    await walkthrough(deps, data_dir)
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM vehicles ORDER BY id")]
    async with pool.acquire() as conn:
        found = await cars.summaries(conn, ids)
    assert {s["car_id"] for s in found.values()} == {ids[0]}
    assert {(s["sites"], s["listings"], s["lowest_price"]) for s in found.values()} == {
        (2, 2, Decimal("46000.00"))
    }


async def test_the_migration_observes_the_listings_already_loaded(
    old_database: asyncpg.Connection,
) -> None:
    """Listings loaded before observations existed get their current and earlier prices."""
    conn = old_database
    await conn.execute(
        "INSERT INTO vehicles (source_name, make, model, year, price, data_hash, batch_id,"
        " updated_at) VALUES ('dealer', 'Ford', 'Mustang', 1967, 45000, $1, 'b1', $2)",
        "a" * 64,
        datetime(2026, 11, 1, tzinfo=UTC),
    )
    await conn.execute("UPDATE vehicles SET price = 42000, batch_id = 'b2', updated_at = $1",
                       datetime(2026, 11, 5, tzinfo=UTC))  # fmt: skip
    await schema.migrate(conn)
    rows = await conn.fetch("SELECT batch_id, price FROM vehicle_observations ORDER BY observed_at")
    assert [(r["batch_id"], r["price"]) for r in rows] == [
        ("b1", Decimal("45000.00")),
        ("b2", Decimal("42000.00")),
    ]


async def test_a_refused_row_is_not_observed_and_its_chunk_mates_are(
    deps: Deps, data_dir: DataDir, pool: asyncpg.Pool, recorder: RecordingBus
) -> None:
    """A row the database refuses leaves no observation; the rest of its chunk is observed."""
    lines = [listing("dealer-a", f"A{i}", 50_000 + i, DAY_1, record_position=i) for i in range(4)]
    lines[2]["year"] = 1850  # refused by the table's CHECK (year >= 1900)
    await drop(deps, data_dir, lines)
    imported = [e for e in recorder.published if isinstance(e, BatchImported)]
    assert (imported[-1].inserted, imported[-1].failed) == (3, 1)
    observed = {o["data_hash"] for o in await observations(pool)}
    assert observed == {line["data_hash"] for i, line in enumerate(lines) if i != 2}


async def test_the_app_role_observes_and_reads_cars(
    owner_and_app: tuple[str, str, str], data_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The services' role writes observations and reads the view, granted like every table."""
    owner, app_dsn, role = owner_and_app
    monkeypatch.setenv("DATABASE_URL", app_dsn)
    monkeypatch.setenv("MIGRATION_DATABASE_URL", owner)
    monkeypatch.setenv("IMPORTER_APP_ROLE", role)
    await app.migrate(ImporterSettings())
    async with asyncpg.create_pool(app_dsn, min_size=1, max_size=2) as app_pool:
        app_deps = Deps(pool=app_pool, bus=RecordingBus(), data_dir=data_dir, chunk_size=100)
        await walkthrough(app_deps, data_dir)
        await drop(app_deps, data_dir, [listing("dealer-a", "A1", 50_000, DAY_2)])  # again
        assert await app_pool.fetchval("SELECT current_user") == role
        assert await app_pool.fetchval("SELECT count(*) FROM car_observations") == 3
        assert await app_pool.fetchval(RELISTED_LOWER_SQL) is not None


async def test_an_old_file_imported_late_keeps_the_story_in_collection_order(
    deps: Deps, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """Day 2 imported before day 1 (a late re-drive): the story and the price now follow the
    days the listing was seen, not the order of the imports."""
    await drop(deps, data_dir, [listing("dealer-a", "A1", 47_500, DAY_2)])
    await drop(deps, data_dir, [listing("dealer-a", "A1", 50_000, DAY_1)])
    car = await car_of(pool, str(await pool.fetchval("SELECT id FROM vehicles")))
    assert [(e["kind"], e["price"]) for e in car["timeline"]] == [
        ("listed", Decimal("50000.00")),
        ("price_change", Decimal("47500.00")),
    ]
    assert car["listings"][0]["price"] == Decimal("47500.00")
    assert car["signals"]["lowest_price"] == Decimal("47500.00")
    async with pool.acquire() as conn:
        [summary] = (await cars.summaries(conn, [car["car_id"]])).values()
    assert summary["lowest_price"] == Decimal("47500.00")
