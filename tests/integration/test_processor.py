"""The processor service on the real JetStream server: events and commands in, files out."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from nats.aio.client import Client

from bench.e2e.stack import children
from services.processor.app import serve
from services.processor.config import ProcessorSettings
from services.processor.processing import make_batch_id
from shared import subjects
from shared.bus import Bus
from shared.events import BatchProcessed, FileCollected, FileRejected, RecordType
from shared.settings import PipelineSettings
from shared.storage import DataDir
from tests.conftest import recorded
from tests.polling import eventually

pytestmark = pytest.mark.nats

DAY = "2026-11-29"
RAW = f"raw/{DAY}/vehicles/drop_001.json"
RECORDS = [
    {"sourceName": "drop", "make": "Jag", "model": "E-Type", "year": 1963, "price": "$180,000"},
    {"sourceName": "drop", "make": "Ford", "model": "Bronco", "year": 1972, "price": 62000.5},
    {"sourceName": "drop", "make": "Ford", "model": "Bronco", "year": 1972, "price": 62000.5},
    {"sourceName": "drop", "make": "Fiat", "model": "500", "year": 1968, "price": 10},
]


def _place(data_dir: DataDir, relative: str, content: bytes) -> Path:
    path = data_dir.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


async def _collect(bus: Bus, data_dir: DataDir) -> str:
    """Place ``RECORDS`` at ``RAW`` and publish its FileCollected event; return its SHA-256."""
    raw = _place(data_dir, RAW, orjson.dumps(RECORDS))
    sha = hashlib.sha256(raw.read_bytes()).hexdigest()
    await bus.publish(
        FileCollected(
            path=RAW,
            sha256=sha,
            size_bytes=raw.stat().st_size,
            record_type=RecordType.VEHICLES,
            source="drop",
            tool="drop",
        )
    )
    return sha


async def _announced(outcomes: list[BatchProcessed]) -> list[BatchProcessed]:
    """Wait for the first BatchProcessed events and return them."""

    async def announced() -> list[BatchProcessed]:
        return outcomes

    return await eventually(announced)


@pytest.fixture
async def processor(settings: PipelineSettings, bus: Bus) -> AsyncIterator[asyncio.Task[None]]:
    """Run the processor service in this test's namespace; stop it gracefully afterwards."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(ProcessorSettings(), stop))
    yield task
    stop.set()
    await asyncio.wait_for(task, timeout=30)


async def test_collected_file_is_processed_and_announced(
    processor: asyncio.Task[None], bus: Bus, data_dir: DataDir, outcomes: list[BatchProcessed]
) -> None:
    """A FileCollected event yields processed and failed files and one BatchProcessed event."""
    sha = await _collect(bus, data_dir)
    (event,) = await _announced(outcomes)
    lines = (data_dir.root / event.processed_path).read_bytes().splitlines()
    failed = (data_dir.root / str(event.failed_path)).read_bytes().splitlines()
    assert event.batch_id == make_batch_id(sha)
    assert (event.records_read, event.records_valid, event.records_invalid) == (4, 2, 1)
    assert event.duplicates_in_batch == 1
    assert event.errors_by_reason == {"business_rule:price": 1}
    assert event.repairs_by_rule == {"make_alias": 1, "price_text": 1}  # the Jaguar's
    assert [orjson.loads(line)["investment_grade"] for line in lines] == ["A+", "B+"]
    assert orjson.loads(failed[0])["position"] == 3
    assert not processor.done()


async def test_plain_json_command_is_processed(
    processor: asyncio.Task[None],
    nats_client: Client,
    namespace: str,
    data_dir: DataDir,
    outcomes: list[BatchProcessed],
) -> None:
    """A ProcessFile command sent as plain JSON with only a path is processed like an event."""
    raw_path = f"raw/{DAY}/vehicles/apify_002.json"
    _place(data_dir, raw_path, orjson.dumps({"items": RECORDS[:2]}))
    payload = orjson.dumps({"path": raw_path})
    await nats_client.publish(f"{namespace}.{subjects.COMMAND_PROCESS_FILE}", payload)
    await nats_client.flush()
    (event,) = await _announced(outcomes)
    assert event.raw_path == raw_path
    assert event.record_type is RecordType.VEHICLES
    assert event.source == "apify"
    assert event.records_valid == 2
    assert event.failed_path is None
    assert (data_dir.root / event.processed_path).is_file()


async def test_unreadable_file_is_rejected_not_dead_lettered(
    processor: asyncio.Task[None],
    bus: Bus,
    nats_client: Client,
    namespace: str,
    data_dir: DataDir,
) -> None:
    """A truncated file publishes FileRejected with its reason and leaves no processed output."""
    async with recorded(bus, subjects.FILES_REJECTED, FileRejected) as rejected:
        raw_path = f"raw/{DAY}/vehicles/drop_003.json"
        _place(data_dir, raw_path, orjson.dumps(RECORDS)[:-7])
        await nats_client.publish(
            f"{namespace}.{subjects.COMMAND_PROCESS_FILE}", orjson.dumps({"path": raw_path})
        )

        async def announced() -> list[FileRejected]:
            return rejected

        (event,) = await eventually(announced)
    assert event.stage == "processor"
    assert (data_dir.root / str(event.error_file)).is_file()
    assert not (data_dir.root / f"processed/{DAY}/vehicles/drop_003.jsonl").exists()


async def test_a_deeply_nested_file_is_rejected_and_the_next_file_is_processed(
    processor: asyncio.Task[None],
    bus: Bus,
    nats_client: Client,
    namespace: str,
    data_dir: DataDir,
    outcomes: list[BatchProcessed],
) -> None:
    """``[0,[0,[0,...`` 2,000 deep (8 KB) is refused with its reason; processing goes on."""
    deep = b"[" + b"[0," * 2_000 + b"0" + b"]" * 2_000 + b"]"
    assert len(deep) < 8_200
    async with recorded(bus, subjects.FILES_REJECTED, FileRejected) as rejected:
        raw_path = f"raw/{DAY}/vehicles/drop_004.json"
        _place(data_dir, raw_path, deep)
        await nats_client.publish(
            f"{namespace}.{subjects.COMMAND_PROCESS_FILE}", orjson.dumps({"path": raw_path})
        )

        async def announced() -> list[FileRejected]:
            return rejected

        (event,) = await eventually(announced)
        await _collect(bus, data_dir)
        (processed,) = await _announced(outcomes)
    assert event.reason.startswith("JSON nested deeper than 64 levels"), event.reason
    assert processed.records_valid == 2
    assert not processor.done()


def _reader_processes() -> set[int]:
    """Return the pids of this process's reader children (``services.processor.reader_process``)."""
    return {
        child
        for child in children(os.getpid())
        if b"services.processor.reader_process" in Path(f"/proc/{child}/cmdline").read_bytes()
    }


async def test_the_service_reads_in_a_child_and_stops_it_when_it_stops(
    bus: Bus, data_dir: DataDir, outcomes: list[BatchProcessed]
) -> None:
    """A file is read by a reader process, which ends with the service (no orphan)."""
    before = _reader_processes()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(ProcessorSettings(), stop))
    try:
        await _collect(bus, data_dir)
        (event,) = await _announced(outcomes)
        readers = _reader_processes() - before
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
    assert event.records_valid == 2
    assert len(readers) == 1
    assert not readers & _reader_processes()
