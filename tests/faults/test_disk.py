"""The data folder read-only, then full: the processor says so, keeps its input, writes no partial
file, and finishes by itself once the fault clears. The folder is a small tmpfs of the test's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from services.processor.app import serve
from services.processor.config import ProcessorSettings
from shared import subjects
from shared.bus import Bus
from shared.events import BatchProcessed, FileCollected, RecordType
from tests.conftest import recorded
from tests.faults.data import vehicle_files
from tests.faults.outputs import incomplete_outputs, temporary_files
from tests.polling import eventually

pytestmark = [pytest.mark.nats, pytest.mark.postgres, pytest.mark.timeout(180)]

DAY = "2026-11-29"


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """Mount a 4 MB tmpfs as the data folder; unmount it afterwards."""
    root = tmp_path / "disk"
    root.mkdir()
    _mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(root))
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


def _failures(logs: list[dict[str, Any]], errno_name: str) -> list[dict[str, Any]]:
    """Return the bus's logged failures of a handler whose error names ``errno_name``."""
    names = ("bus.transient_failure", "bus.handler_failed")
    return [e for e in logs if e["event"] in names and errno_name in str(e.get("error"))]


async def _met(logs: list[dict[str, Any]], errno_name: str) -> bool:
    return bool(_failures(logs, errno_name))


async def test_read_only_then_full_data_folder_recovers_by_itself(
    small_disk: Path, bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The processor meets the read-only, then full folder and says so; nothing is published or
    half-written meanwhile, and the file is processed once the fault clears."""
    monkeypatch.setenv("DATA_DIR", str(small_disk))
    monkeypatch.setenv("PROCESSOR_MAX_DELIVER", "100")
    records = vehicle_files(3, 1, 600)[0]
    raw = small_disk / "raw" / DAY / "vehicles" / "drop_001.json"
    raw.parent.mkdir(parents=True)
    content = json.dumps(records).encode()
    raw.write_bytes(content)
    (small_disk / "filler").write_bytes(b"\0" * (4_000_000 - len(content) - 60_000))
    _mount("-o", "remount,ro", str(small_disk))

    logs: list[dict[str, Any]]
    async with (
        recorded(bus, subjects.RECORDS_PROCESSED, BatchProcessed) as done,
        _captured_logs() as logs,
    ):
        stop = asyncio.Event()
        service = asyncio.create_task(serve(ProcessorSettings(), stop))
        try:
            await bus.publish(
                FileCollected(
                    path=f"raw/{DAY}/vehicles/drop_001.json",
                    sha256=hashlib.sha256(content).hexdigest(),
                    size_bytes=len(content),
                    record_type=RecordType.VEHICLES,
                    source="drop",
                    tool="drop",
                )
            )
            # The processor meets the read-only folder and says so; nothing is published.
            await eventually(lambda: _met(logs, "Read-only file system"), timeout_s=60)
            assert done == []
            assert list((small_disk / "processed").rglob("*")) == []
            _mount("-o", "remount,rw", str(small_disk))  # writable now, but almost full
            await eventually(lambda: _met(logs, "No space left"), timeout_s=60)
            assert done == []
            assert incomplete_outputs(small_disk, [content], settled=False) == []
            assert temporary_files(small_disk) == []
            assert raw.read_bytes() == content  # the input is kept
            (small_disk / "filler").unlink()  # the fault clears
            await eventually(lambda: _async(done), timeout_s=90)
        finally:
            stop.set()
            await asyncio.wait_for(service, timeout=30)
    assert done[0].records_valid > 400
    processed = small_disk / done[0].processed_path
    assert len(processed.read_bytes().splitlines()) == done[0].records_valid
    assert list((small_disk / "processed").glob("*/*/*.jsonl")) == [processed]  # once
    assert incomplete_outputs(small_disk, [content], settled=True) == []
    assert temporary_files(small_disk) == []


@contextlib.asynccontextmanager
async def _captured_logs() -> AsyncIterator[list[dict[str, Any]]]:
    """Capture the in-process service's structured log events for the block."""
    with structlog.testing.capture_logs() as logs:
        yield logs


async def _async(items: list[BatchProcessed]) -> bool:
    return bool(items)
