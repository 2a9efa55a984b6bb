"""The running importer on JetStream: ImportFile commands, progress events, dead letters."""

# The shared fixtures live in test_importer.py; tests take them as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from services.importer.app import serve
from services.importer.config import ImporterSettings
from shared import subjects
from shared.bus import Bus, Consumer
from shared.events import AlertRaised, BatchImported, Event, ImportFile, ImportProgress
from shared.storage import DataDir
from tests.integration.test_importer import (  # noqa: F401 - fixtures
    DAY,
    VEHICLES_FILE,
    batch_event,
    importer_settings,
    migrated_url,
    pool,
    vehicle_line,
    write_jsonl,
)
from tests.polling import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


@pytest.fixture
async def running(importer_settings: ImporterSettings, bus: Bus) -> AsyncIterator[None]:
    """Run the importer service for the test and stop it cleanly afterwards."""
    stop = asyncio.Event()
    service = asyncio.create_task(serve(importer_settings, stop))
    yield
    stop.set()
    await asyncio.wait_for(service, timeout=30)
    assert service.exception() is None


async def listen(bus: Bus, subject: str, model: type[Event], seen: list[Event]) -> Consumer[Any]:
    """Start a probe consumer that appends every event of ``subject`` to ``seen``."""

    async def keep(event: Event) -> None:
        seen.append(event)

    return await bus.consume(subject, "probe", model, keep)


async def test_import_file_command_is_consumed_with_progress(
    running: None, bus: Bus, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """An ImportFile command on the bus loads the file and publishes per-chunk progress."""
    seen: list[Event] = []
    probes = [
        await listen(bus, subjects.IMPORT_PROGRESS, ImportProgress, seen),
        await listen(bus, subjects.RECORDS_IMPORTED, BatchImported, seen),
    ]
    relative = write_jsonl(data_dir, VEHICLES_FILE, [vehicle_line(i) for i in range(230)])
    await bus.publish(ImportFile(path=relative))

    async def imported() -> list[BatchImported]:
        return [e for e in seen if isinstance(e, BatchImported)]

    (done,) = await eventually(imported)
    progress = [e for e in seen if isinstance(e, ImportProgress)]
    for probe in probes:
        await probe.stop(grace_s=1)
    assert await pool.fetchval("SELECT count(*) FROM vehicles") == 230
    assert (done.inserted, done.chunks) == (230, 3)
    assert sorted(p.rows_done for p in progress) == [100, 200, 230]
    assert {p.rows_total for p in progress} == {230}


async def test_dead_lettered_batch_is_queued_and_alerted(
    running: None, bus: Bus, data_dir: DataDir
) -> None:
    """A batch the importer cannot load is dead-lettered, kept in retry_queue, and alerted."""
    alerts: list[Event] = []
    probe = await listen(bus, subjects.ALERT_RAISED, AlertRaised, alerts)
    await bus.publish(batch_event(f"processed/{DAY}/vehicles/missing.jsonl", batch_id="lost-1"))
    queued = data_dir.root / f"failed/{DAY}/retry_queue/lost-1.json"

    async def alerted() -> list[Event]:
        return alerts

    (alert,) = await eventually(alerted)
    await probe.stop(grace_s=1)
    assert queued.exists()
    assert isinstance(alert, AlertRaised)
    assert alert.kind == "import_dead_lettered"
    assert alert.details["batch_id"] == "lost-1"
    assert "cannot read processed file" in str(alert.details["reason"])
