"""End to end: `pipeline up` runs the services; dropped files become rows, failures, a report.

Real NATS JetStream, real PostgreSQL (a database of its own), real files, real processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import nats
import pytest

from tests.conftest import ADMIN_DSN, NATS_URL, dsn_for, unique
from tests.polling import eventually
from tests.ports import free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.nats,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(240),
]

TABLES = ("vehicles", "events", "articles")
PIPELINE = str(Path(sys.executable).with_name("pipeline"))


def _vehicle(index: int, **changes: Any) -> dict[str, Any]:
    record = {
        "make": "Chevrolet",
        "model": f"Chevelle SS {index}",
        "year": 1970,
        "price": 45_000 + index,
        "description": "Numbers-matching 454, <b>restored</b>'; DROP TABLE vehicles; --",
        "imageUrl": f"https://img.example.com/{index}.jpg",
        "locationCity": "Tulsa",
        "locationState": "OK",
        "locationRegion": "South",
        "category": "muscle",
        "condition": "excellent",
        "sourceName": "dealer-feed",
        "sourceUrl": f"https://dealer.example.com/{index}",
        "stockNumber": f"STK-{index}",
    }
    record.update(changes)
    return record


@pytest.fixture
async def e2e_database() -> AsyncIterator[str]:
    """Give the run a database of its own, dropped afterwards."""
    name = unique("pipeline_e2e_")
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    yield dsn_for(name)
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture
def stack_env(e2e_database: str, tmp_path: Path) -> dict[str, str]:
    """Return the environment of one isolated stack."""
    return {
        **os.environ,
        "NATS_URL": NATS_URL,
        "DATABASE_URL": e2e_database,
        "DATA_DIR": str(tmp_path / "data"),
        "PIPELINE_NAMESPACE": unique("e2e"),
        "MONITOR_PORT": str(free_port()),
        "COLLECTOR_STABLE_S": "0.3",
        "COLLECTOR_RESCAN_S": "2",
        "MONITOR_POLL_S": "1",
    }


@pytest.fixture
def stack(stack_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run `pipeline up` (the four services as processes); stop it with SIGTERM afterwards."""
    log = (tmp_path / "stack.log").open("wb")
    proc = subprocess.Popen([PIPELINE, "up"], env=stack_env, stdout=log, stderr=subprocess.STDOUT)
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log.close()


async def _healthy(port: str) -> bool:
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            return response.status == 200
    except aiohttp.ClientError:
        return False


def _drop(tmp_path: Path, inbox: Path, name: str, content: str) -> None:
    """Write a file elsewhere, then copy it into the inbox as `cp` would."""
    source = tmp_path / "outbox" / name
    source.parent.mkdir(exist_ok=True)
    source.write_text(content)
    shutil.copy(source, inbox / name)


async def test_dropped_files_become_rows_failures_and_a_report(
    stack: subprocess.Popen[bytes], stack_env: dict[str, str], tmp_path: Path
) -> None:
    """Dropped vehicles, events and articles are loaded; bad input is kept with its reasons."""
    data = Path(stack_env["DATA_DIR"])
    await eventually(lambda: _healthy(stack_env["MONITOR_PORT"]), timeout_s=60)
    assert stack.poll() is None

    vehicles = [_vehicle(i) for i in range(50)]
    vehicles.append(_vehicle(0))  # exact duplicate inside the file
    vehicles.append(_vehicle(90, price=12))  # business rule: price
    vehicles.append(_vehicle(91, year=1900, make=""))  # two failures in one record
    vehicles.append("not an object")  # type: ignore[arg-type]
    _drop(tmp_path, data / "inbox/vehicles", "cars.json", json.dumps(vehicles))
    events = [
        {
            "name": "Hershey Fall Meet",
            "eventType": "swap meet",
            "startDate": "2026-10-07",
            "endDate": "2026-10-10",
            "city": "Hershey",
            "state": "PA",
            "sourceName": "aaca",
            "url": "https://www.aaca.org/hershey",
        },
        {"name": "No date", "eventType": "show", "city": "X", "sourceName": "aaca"},
    ]
    _drop(tmp_path, data / "inbox/events", "events.jsonl", "\n".join(map(json.dumps, events)))
    articles = {
        "items": [
            {
                "title": "Pebble Beach 2026: what to know",
                "url": "https://news.example.com/pebble",
                "summary": "Dates and classes",
                "publishedDate": "2026-07-20",
                "category": "news",
                "sourceName": "jina",
            }
        ]
    }
    _drop(tmp_path, data / "inbox/articles", "articles.json", json.dumps(articles))
    _drop(tmp_path, data / "inbox/vehicles", "broken.json", '[{"make": "Ford", ')

    conn = await asyncpg.connect(stack_env["DATABASE_URL"])
    try:
        counts = await eventually(lambda: _counts(conn, (50, 1, 1)), timeout_s=60)
        assert counts == (50, 1, 1)
        stored = await conn.fetchval(
            "SELECT description FROM vehicles WHERE stock_number = 'STK-1'"
        )
        assert "DROP TABLE vehicles" in stored  # stored as text, harmless

        day = datetime.now(UTC).date().isoformat()
        failed = _read_jsonl(data / "failed" / day / "validation_errors" / "vehicles")
        assert len(failed) == 3
        reasons = {(e["field"], e["rule"]) for line in failed for e in line["errors"]}
        assert ("price", "business_rule") in reasons
        assert ("year", "business_rule") in reasons
        assert len(_read_jsonl(data / "failed" / day / "validation_errors" / "events")) == 1
        assert list((data / "failed" / day / "file_errors").rglob("*.json"))
        assert not list((data / "inbox").rglob("*.json*"))

        # A trigger message, as `nats pub` sends it, re-processes a raw file: no row is doubled.
        meta = json.loads((data / "raw" / day / "vehicles" / "meta.json").read_text())
        raw_name = next(e["file"] for e in meta["files"] if e["original_name"] == "cars.json")
        nc = await nats.connect(NATS_URL)
        subject = f"{stack_env['PIPELINE_NAMESPACE']}.commands.process_file"
        await nc.publish(subject, json.dumps({"path": f"raw/{day}/vehicles/{raw_name}"}).encode())
        await nc.drain()
        await eventually(lambda: _batches_imported(conn, 4), timeout_s=60)
        assert await _counts(conn, (50, 1, 1)) == (50, 1, 1)
    finally:
        await conn.close()

    figures = json.loads(await _pipeline(stack_env, "report", "--format", "json"))
    assert figures["import"]["inserted"] == 52
    text = await _pipeline(stack_env, "report")
    assert "Pipeline report" in text
    _assert_rejected_file_is_named(data, day, figures, text)
    scraping = figures["scraping"]["by_record_type"]
    assert {k: v["records"] for k, v in scraping.items()} == SCRAPED
    assert f"records {sum(SCRAPED.values())}" in text
    raw_broken = f"raw/{day}/vehicles/{_raw_name(data, day, 'broken.json')}"
    checked = await _pipeline_failing(stack_env, "check", str(data / raw_broken))
    assert "(dropped as broken.json)" in checked
    api = f"http://127.0.0.1:{stack_env['MONITOR_PORT']}"
    recent = await _get_json(f"{api}/api/recent")
    [dropped] = [f for f in recent["files"] if f["original_name"] == "broken.json"]
    assert dropped["rejected"]
    alerts = await eventually(lambda: _firing(api), timeout_s=30)
    assert [(a["rule"], a["severity"]) for a in alerts] == [("input_rejected", "warning")]
    assert "broken.json" in alerts[0]["message"]

    stack.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(stack.wait, 40) == 0


# Records in each type's dropped files, each file once (cars.json is processed twice): cars.json's
# 54, the two events, the one article; broken.json gave none.
SCRAPED = {"articles": 1, "events": 2, "vehicles": 54}


def _raw_name(data: Path, day: str, dropped: str) -> str:
    meta = json.loads((data / "raw" / day / "vehicles" / "meta.json").read_text())
    return str(next(e["file"] for e in meta["files"] if e["original_name"] == dropped))


def _assert_rejected_file_is_named(
    data: Path, day: str, figures: dict[str, Any], text: str
) -> None:
    """The rejected broken.json is found by that name: its record, the day's report, `report`."""
    stem = _raw_name(data, day, "broken.json").removesuffix(".json")
    [record_path] = (data / "failed" / day / "file_errors" / "vehicles").glob("*.json")
    assert record_path.name == f"{stem}.broken.json"
    record = json.loads(record_path.read_text())
    assert record["original_name"] == "broken.json"
    report = json.loads((data / "processed" / day / "processing_report.json").read_text())
    names = {e["original_name"]: e["status"] for e in report["files"].values()}
    assert names["broken.json"] == "rejected"
    assert names["cars.json"] == "processed"
    [rejected] = figures["errors"]["rejected_files"]
    assert rejected["name"] == rejected["original_name"] == "broken.json"
    assert rejected["error_file"] == str(record_path.relative_to(data))
    assert f"rejected broken.json: {rejected['reason']}" in text


async def _firing(api: str) -> list[dict[str, Any]] | None:
    """Return the firing alerts once there are some (the monitor evaluates them each poll)."""
    return (await _get_json(f"{api}/api/alerts"))["firing"] or None


async def _get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return await response.json()


async def _counts(conn: asyncpg.Connection, expected: tuple[int, ...]) -> tuple[int, ...] | None:
    if not await conn.fetchval("SELECT to_regclass('public.articles') IS NOT NULL"):
        return None
    counts = tuple([await conn.fetchval(f"SELECT count(*) FROM {table}") for table in TABLES])
    return counts if counts == expected else None


async def _batches_imported(conn: asyncpg.Connection, at_least: int) -> bool:
    exists = await conn.fetchval("SELECT to_regclass('public.monitor_events') IS NOT NULL")
    if not exists:
        return False
    count = await conn.fetchval(
        "SELECT count(*) FROM monitor_events WHERE subject = 'records.imported'"
    )
    return int(count) >= at_least


def _read_jsonl(folder: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(folder.glob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line
    ]


async def _pipeline_failing(env: dict[str, str], *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        PIPELINE, *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 1, out.decode()
    return out.decode()


async def _pipeline(env: dict[str, str], *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        PIPELINE, *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()
