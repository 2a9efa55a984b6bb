"""``pipeline import``, ``retry-failed`` and ``search`` through click, on the real servers."""

# The shared fixtures live in test_importer.py; tests take them as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import nats
import orjson
import pytest
from click.testing import CliRunner, Result

from services.cli import main
from services.importer import failures
from shared.bus import Bus
from shared.events import ProcessFile
from shared.storage import DataDir
from tests.conftest import NATS_URL
from tests.integration.test_importer import (  # noqa: F401 - fixtures
    DAY,
    VEHICLES_FILE,
    batch_event,
    migrated_url,
    pool,
    vehicle_line,
    write_jsonl,
)

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


def invoke(env: dict[str, str], *args: str) -> Result:
    """Run ``pipeline ARGS`` in-process with the test's environment."""
    return CliRunner().invoke(main, list(args), env={**env, "IMPORTER_CHUNK_SIZE": "100"})


def count(url: str, sql: str) -> Any:
    """Return one value from the database (the CLI tests are synchronous)."""

    async def fetch() -> Any:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    return asyncio.run(fetch())


def test_import_loads_a_days_files_and_prints_counts(
    env: dict[str, str], data_dir: DataDir, pool: asyncpg.Pool, bus: Bus, migrated_url: str
) -> None:
    """`pipeline import --date D` loads every processed file of the day and exits 0."""
    write_jsonl(data_dir, VEHICLES_FILE, [vehicle_line(i) for i in range(150)])
    write_jsonl(data_dir, f"processed/{DAY}/vehicles/drop_002.jsonl", [vehicle_line(200)])
    result = invoke(env, "import", "--date", DAY)
    assert result.exit_code == 0, result.output
    assert f"{VEHICLES_FILE}: 150 rows, 150 inserted, 0 updated, 0 unchanged, 0 failed" in (
        result.output
    )
    assert "drop_002.jsonl: 1 rows, 1 inserted" in result.output
    assert count(migrated_url, "SELECT count(*) FROM vehicles") == 151
    again = invoke(env, "import", "--no-events", VEHICLES_FILE)
    assert again.exit_code == 0, again.output
    assert "150 unchanged" in again.output


def test_import_exits_non_zero_on_refused_rows_and_missing_files(
    env: dict[str, str], data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """A refused row or an unreadable file makes `pipeline import` exit 1 and say why."""
    write_jsonl(data_dir, VEHICLES_FILE, [orjson.dumps(vehicle_line(1)), b'{"broken'])
    result = invoke(env, "import", "--no-events", VEHICLES_FILE, "processed/none/vehicles/x.jsonl")
    assert result.exit_code == 1
    assert "2 rows, 1 inserted, 0 updated, 0 unchanged, 1 failed" in result.output
    assert "FAILED processed/none/vehicles/x.jsonl: cannot read processed file" in result.output
    assert (data_dir.root / f"failed/{DAY}/import_errors/vehicles/drop_001.jsonl").exists()


def test_retry_failed_import_stage_reloads_a_queued_batch(
    env: dict[str, str], data_dir: DataDir, pool: asyncpg.Pool, bus: Bus, migrated_url: str
) -> None:
    """A batch in the retry queue whose file now exists is loaded and leaves the queue."""
    write_jsonl(data_dir, VEHICLES_FILE, [vehicle_line(i) for i in range(3)])
    payload = orjson.loads(batch_event(VEHICLES_FILE).model_dump_json())
    queued = failures.queue_path(data_dir, payload)
    failures.write_entry(queued, payload, "was broken", subject="dlq.records.processed")
    result = invoke(env, "retry-failed", "--date", DAY, "--stage", "import")
    assert result.exit_code == 0, result.output
    assert "batches re-loaded 1, requeued 0" in result.output
    assert "loaded batch batch-1" in result.output
    assert not queued.exists()
    assert count(migrated_url, "SELECT count(*) FROM vehicles") == 3


def test_retry_failed_validation_stage_publishes_process_file(
    env: dict[str, str], data_dir: DataDir, bus: Bus
) -> None:
    """Each raw file with invalid records is sent back to the processor as ProcessFile."""
    folder = data_dir.root / f"failed/{DAY}/validation_errors/vehicles"
    folder.mkdir(parents=True)
    raw = f"raw/{DAY}/vehicles/drop_001.json"
    (folder / "drop_001.jsonl").write_bytes(orjson.dumps({"raw_file": raw, "position": 0}) + b"\n")
    result = invoke(env, "retry-failed", "--date", DAY, "--stage", "validation")
    assert result.exit_code == 0, result.output
    assert f"reprocess {raw}" in result.output

    async def last_command() -> ProcessFile:
        nc = await nats.connect(NATS_URL)
        try:
            msg = await nc.jetstream().get_last_msg(
                bus.names.stream, bus.names.subject(ProcessFile.subject)
            )
        finally:
            await nc.close()
        return ProcessFile.model_validate_json(msg.data or b"")

    command = asyncio.run(last_command())
    assert (command.path, command.record_type) == (raw, "vehicles")


def test_search_prints_ranked_results(
    env: dict[str, str], data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """`pipeline search` prints numbered results, best first, and says when nothing matches."""
    lines = [vehicle_line(i) for i in range(8)]  # makes cycle Ford, Chevrolet, Porsche, Jaguar
    write_jsonl(data_dir, VEHICLES_FILE, lines)
    assert invoke(env, "import", "--no-events", VEHICLES_FILE).exit_code == 0
    result = invoke(env, "search", "porshe", "--limit", "5")
    assert result.exit_code == 0, result.output
    rows = result.output.splitlines()
    assert len(rows) == 2
    assert rows[0].startswith("  1. 1952 Porsche Model 2  $20,002  Tulsa  1 site(s)  car ")
    assert rows[1].startswith("  2. 1956 Porsche Model 6")
    assert "no match" in invoke(env, "search", "zzzzqqq", "--type", "events").output
