"""The data folder read-only, then full: the processor says so, keeps its input, writes no partial
file, and finishes by itself once the fault clears. The folder is a small tmpfs of the test's own.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.processor.app import serve
from services.processor.config import ProcessorSettings
from shared import subjects
from shared.bus import Bus
from shared.events import BatchProcessed, FileCollected, RecordType
from tests.conftest import recorded
from tests.faults.data import vehicle_files
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


def _visible_partials(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.jsonl") if p.stat().st_size == 0]


async def test_read_only_then_full_data_folder_recovers_by_itself(
    small_disk: Path, bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the folder is read-only or full nothing is published or half-written; then it is."""
    monkeypatch.setenv("DATA_DIR", str(small_disk))
    monkeypatch.setenv("PROCESSOR_MAX_DELIVER", "100")
    records = vehicle_files(3, 1, 600)[0]
    raw = small_disk / "raw" / DAY / "vehicles" / "drop_001.json"
    raw.parent.mkdir(parents=True)
    content = json.dumps(records).encode()
    raw.write_bytes(content)
    (small_disk / "filler").write_bytes(b"\0" * (4_000_000 - len(content) - 60_000))
    _mount("-o", "remount,ro", str(small_disk))

    async with recorded(bus, subjects.RECORDS_PROCESSED, BatchProcessed) as done:
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
            await asyncio.sleep(3)  # the fault lasts a while: a duration, not synchronisation
            assert done == []
            _mount("-o", "remount,rw", str(small_disk))  # writable now, but almost full
            await asyncio.sleep(3)
            assert done == []
            assert _visible_partials(small_disk) == []
            assert raw.read_bytes() == content  # the input is kept
            (small_disk / "filler").unlink()  # the fault clears
            await eventually(lambda: _async(done), timeout_s=90)
        finally:
            stop.set()
            await asyncio.wait_for(service, timeout=30)
    assert done[0].records_valid > 400
    processed = small_disk / done[0].processed_path
    assert len(processed.read_bytes().splitlines()) == done[0].records_valid


async def _async(items: list[BatchProcessed]) -> bool:
    return bool(items)
