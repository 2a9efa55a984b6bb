"""Reading in a child process: the same outputs as in a thread, errors cross, a dead child heals."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.processor.chunks import ReadJob
from services.processor.dedup.prepare import KeyPreparer, Prepared
from services.processor.processing import Options, Summary, process_file_async
from services.processor.reader_process import InThread, ReaderDiedError, ReaderProcess, Reading
from services.processor.stages.enrich import Enricher
from shared.events import RecordType
from shared.records import LINEAGE_FIELDS
from shared.storage import DataDir

from .conftest import RawFactory, vehicle

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


class _Link:
    """Links nothing, and records what each chunk brought (the rows and their prepared keys)."""

    prepare = KeyPreparer()

    def __init__(self) -> None:
        self.chunks: list[tuple[int, Any]] = []

    async def __call__(
        self, record_type: RecordType, rows: list[dict[str, Any]], prepared: object
    ) -> tuple[int, int]:
        self.chunks.append((len(rows), prepared))
        for row in rows:
            row["enrichment"]["dedup"] = {"status": "new"}
        return 0, 0


@pytest.fixture(scope="module")
def reader_process() -> Iterator[ReaderProcess]:
    process = ReaderProcess()
    yield process
    process.close()


def _records() -> list[Any]:
    good = [vehicle(stockNumber=f"S-{n}", price=20_000 + n) for n in range(7)]
    bad = [vehicle(price="priceless"), "not an object", vehicle(year=1800)]
    return [good[0], bad[0], good[1], good[2], good[0], bad[1], *good[3:], bad[2]]


def _run(raw: Path, data_dir: DataDir, reading: Reading, link: _Link) -> Summary:
    meta = {"batch_id": "b-p2", "now": NOW}
    options = Options(chunk_size=3)
    work = process_file_async(
        raw, RecordType.VEHICLES, data_dir, link, meta=meta, options=options, reading=reading
    )
    return asyncio.run(work)


def _outputs(data_dir: DataDir, summary: Summary) -> tuple[bytes, bytes]:
    assert summary.processed_path is not None
    assert summary.failed_path is not None
    root = data_dir.root
    return (root / summary.processed_path).read_bytes(), (root / summary.failed_path).read_bytes()


def test_a_reader_process_writes_what_a_thread_writes(
    raw_file: RawFactory, data_dir: DataDir, tmp_path: Path, reader_process: ReaderProcess
) -> None:
    """Rows, failures, counts and prepared keys are the same whichever side reads the file."""
    raw = raw_file(_records())
    in_thread, in_process = _Link(), _Link()
    first = _run(raw, data_dir, InThread(), in_thread)
    expected = _outputs(data_dir, first)
    second = _run(raw, data_dir, reader_process, in_process)
    assert _outputs(data_dir, second) == expected
    counts = ("records_read", "records_valid", "records_invalid", "duplicates_in_batch")
    assert [getattr(second, c) for c in counts] == [getattr(first, c) for c in counts]
    assert [getattr(second, c) for c in counts] == [11, 7, 3, 1]
    assert second.errors_by_reason == first.errors_by_reason
    assert len(orjson.loads(b"[" + expected[0].replace(b"\n", b",").rstrip(b",") + b"]")) == 7
    assert [n for n, _ in in_process.chunks] == [n for n, _ in in_thread.chunks]
    for rows, prepared in in_process.chunks:
        assert isinstance(prepared, Prepared)
        assert len(prepared.keys) == rows


def test_an_unreadable_file_is_rejected_with_its_position_from_the_reader_process(
    raw_file: RawFactory, data_dir: DataDir, reader_process: ReaderProcess
) -> None:
    """A file truncated after some records: the reason and position cross the process."""
    content = orjson.dumps([vehicle(stockNumber=f"S-{n}") for n in range(6)])[:-20]
    summary = _run(raw_file(content), data_dir, reader_process, _Link())
    assert summary.rejected
    assert summary.error_file is not None
    error = orjson.loads((data_dir.root / summary.error_file).read_bytes())
    assert "premature EOF" in error["reason"]
    assert error["position"]["records_before_error"] == 5


def test_a_killed_reader_process_fails_the_job_and_the_next_job_gets_a_new_one(
    raw_file: RawFactory, data_dir: DataDir
) -> None:
    """The job fails with a retryable error; the next one starts a fresh child and succeeds."""
    raw = raw_file(_records())
    reader = ReaderProcess()
    try:

        class KillingLink(_Link):
            async def __call__(
                self, record_type: RecordType, rows: list[dict[str, Any]], prepared: object
            ) -> tuple[int, int]:
                assert reader.pid is not None
                os.kill(reader.pid, signal.SIGKILL)
                return await super().__call__(record_type, rows, prepared)

        with pytest.raises(ReaderDiedError, match="reader process ended"):
            _run(raw, data_dir, reader, KillingLink())
        assert reader.pid is None
        summary = _run(raw, data_dir, reader, _Link())
        assert summary.records_valid == 7
        assert reader.pid is not None
    finally:
        reader.close()


def test_closing_ends_the_child(raw_file: RawFactory, data_dir: DataDir) -> None:
    """After close the child process is gone (no orphan keeps running)."""
    reader = ReaderProcess()
    _run(raw_file([vehicle()]), data_dir, reader, _Link())
    pid = reader.pid
    assert pid is not None
    reader.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


_SERVICE_ONLY = ("aiohttp", "asyncpg", "geopy", "nats", "pydantic_settings", "requests")

_CHILD_MODULES = """
import pickle, sys
import services.processor.reader_process
job = pickle.loads(sys.stdin.buffer.read())
job.open().read()
print(" ".join(sorted(name for name in sys.modules if "." not in name)))
"""


def test_the_reader_process_loads_no_client_library(
    raw_file: RawFactory, data_dir: DataDir
) -> None:
    """What the child imports to read a job leaves out the service's clients (memory: ~20 MB)."""
    raw = raw_file(_records())
    summary = Summary(
        raw_file="x", record_type=RecordType.VEHICLES, batch_id="b", source="drop", tool="drop"
    )
    lineage = dict.fromkeys(LINEAGE_FIELDS, "x")
    job = ReadJob(raw, summary, lineage, Enricher(), None, 3, KeyPreparer())
    child = subprocess.run(
        [sys.executable, "-c", _CHILD_MODULES],
        input=pickle.dumps(job),
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr.decode()
    loaded = set(child.stdout.decode().split())
    assert "pydantic" in loaded  # the check sees what the child imported
    assert loaded.isdisjoint(_SERVICE_ONLY), loaded & set(_SERVICE_ONLY)
