"""``pipeline car`` and the cars of ``pipeline search``, through click, on the real PostgreSQL."""

# The shared fixtures live in test_importer.py; tests take them as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import asyncpg
import orjson
import pytest

from shared.storage import DataDir
from tests.integration.test_cars import DAY_1, DAY_2, listing
from tests.integration.test_importer import migrated_url, pool, write_jsonl  # noqa: F401
from tests.integration.test_importer_cli import count, invoke

pytestmark = [pytest.mark.postgres]


def dropped(env: dict[str, str], data_dir: DataDir) -> dict[str, str]:
    """Import the walkthrough with `pipeline import`: day 1 dealer-a at 50,000; day 2 dealer-a
    unchanged and auction-b at 46,000, linked to it. Return the listings' URLs."""
    first = listing("dealer-a", "A1", 50_000, DAY_1)
    relist = listing("auction-b", "B7", 46_000, DAY_2, canonical=first["data_hash"])
    relist["processed_at"] = f"{DAY_2}T11:00:00+00:00"
    other = listing("dealer-a", "C3", 61_000, DAY_1, model="Chevelle Malibu")
    other.update(model="Chevelle Malibu", data_hash="c" * 64, record_position=1)
    files = [
        ([first, other], f"processed/{DAY_1}/vehicles/dealer-a.jsonl"),
        ([listing("dealer-a", "A1", 50_000, DAY_2)], f"processed/{DAY_2}/vehicles/dealer-a.jsonl"),
        ([relist], f"processed/{DAY_2}/vehicles/auction-b.jsonl"),
    ]
    for lines, relative in files:
        write_jsonl(data_dir, relative, lines)
        result = invoke(env, "import", "--no-events", relative)
        assert result.exit_code == 0, result.output
    return {"first": first["source_url"], "relist": relist["source_url"]}


def test_car_prints_the_timeline_by_id_or_url(
    env: dict[str, str], data_dir: DataDir, pool: asyncpg.Pool, migrated_url: str
) -> None:
    """`pipeline car` gives the listings per site, the signals and the timeline, in text or JSON."""
    urls = dropped(env, data_dir)
    relist_id = count(migrated_url, "SELECT id FROM vehicles WHERE source_name = 'auction-b'")
    by_url = invoke(env, "car", urls["first"])
    assert by_url.exit_code == 0, by_url.output
    assert invoke(env, "car", str(relist_id)).output == by_url.output
    lines = by_url.output.splitlines()
    assert lines[0] == "car 1: 1970 Chevrolet Chevelle SS"
    assert "2 listing(s) on 2 site(s)" in lines[1]
    assert "(1.0 days on market)" in lines[1]
    assert lines[2] == (
        "price: first $50,000, latest $46,000 (-8.0%), 1 change(s); lowest now $46,000"
    )
    assert lines[3] == (
        "relisted: auction-b on 2026-12-02 11:00 at $46,000 (dealer-a asked $50,000: -8.0%)"
    )
    assert lines[-3:] == [
        "  2026-12-01 10:00  dealer-a  listed  $50,000",
        "  2026-12-02 10:00  dealer-a  seen  $50,000",
        "  2026-12-02 11:00  auction-b  relisted  $46,000  (dealer-a asked $50,000)",
    ]
    as_json = orjson.loads(invoke(env, "car", "1", "--json").output)
    assert as_json["signals"]["relisted"][0]["price"] == "46000.00"
    assert [x["site"] for x in as_json["listings"]] == ["dealer-a", "auction-b"]
    missing = invoke(env, "car", "https://nowhere.example/1")
    assert missing.exit_code == 1
    assert "no listing has the id or URL" in missing.output


def test_search_shows_each_car_once_with_its_sites_and_lowest_price(
    env: dict[str, str], data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """Two listings of one car are one result (2 sites, the lowest price); --listings shows them."""
    dropped(env, data_dir)
    result = invoke(env, "search", "chevelle")
    assert result.exit_code == 0, result.output
    rows = result.output.splitlines()
    assert len(rows) == 2
    assert any(
        r.split("  [")[0].endswith("1970 Chevrolet Chevelle SS  $46,000  Tulsa  2 site(s)  car 1")
        for r in rows
    )
    assert any("Chevelle Malibu  $61,000  Tulsa  1 site(s)  car 2" in r for r in rows)
    detailed = invoke(env, "search", "chevelle ss", "--listings").output.splitlines()
    assert detailed[0].startswith("  1. 1970 Chevrolet Chevelle SS  $46,000")
    assert detailed[1].startswith("       #1  dealer-a  $50,000  first 2026-12-01 10:00")
    assert detailed[2].startswith("       #3  auction-b  $46,000  first 2026-12-02 11:00")
    assert len(detailed) == 3
