"""/api/failed reads a bounded amount per request, however many failed files a day has."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.monitor import api
from services.monitor.http import make_app

DAY = date(2026, 11, 28)
FILES = 600
LINE = b'{"record": "' + b"x" * 1000 + b'", "reason": "price must be > 0"}\n'
LINES_PER_FILE = 30  # ~31 KiB a file, ~18 MiB in all: four times the read budget


class _Deps:
    """Just the data folder, which is all /api/failed reads."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir


def _read_bytes() -> int:
    """Return the bytes this process has read through read(2) so far (Linux /proc)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


@pytest.fixture
def many_failed(tmp_path: Path) -> Path:
    """Write FILES failed files of one day; file i is i seconds newer than file 0."""
    folder = tmp_path / "failed" / DAY.isoformat() / "validation_errors"
    folder.mkdir(parents=True)
    for index in range(FILES):
        path = folder / f"feed_{index:04d}.jsonl"
        path.write_bytes(LINE * LINES_PER_FILE)
        os.utime(path, (1_800_000_000 + index, 1_800_000_000 + index))
    (folder / ".tmp-partial").write_bytes(b"half")
    return tmp_path


async def _failed(root: Path) -> tuple[dict[str, Any], int]:
    async with TestClient(TestServer(make_app(_Deps(root)))) as client:  # type: ignore[arg-type]
        before = _read_bytes()
        response = await client.get("/api/failed", params={"date": DAY.isoformat()})
        body = await response.json()
        read = _read_bytes() - before
    assert response.status == 200
    return body, read


async def test_one_request_lists_the_newest_files_and_reads_a_bounded_amount(
    many_failed: Path,
) -> None:
    """With ~18 MiB of failed files, one request lists the newest MAX_FAILED_FILES, counts
    records only within the read budget, says it is truncated, and reads under 5 MiB."""
    body, read = await _failed(many_failed)
    assert read < api.MAX_FAILED_READ_BYTES + 1024 * 1024, read
    files = body["files"]
    assert len(files) == api.MAX_FAILED_FILES
    assert body["files_total"] == FILES
    assert body["truncated"] is True
    assert files[0]["path"].endswith(f"feed_{FILES - 1:04d}.jsonl")  # newest first
    counted = [f for f in files if f["records"] is not None]
    size = len(LINE) * LINES_PER_FILE
    assert len(counted) == api.MAX_FAILED_READ_BYTES // size
    assert all(f["records"] == LINES_PER_FILE for f in counted)
    assert body["records"] == LINES_PER_FILE * len(counted)
    assert files[-1]["records"] is None
    assert files[-1]["size_bytes"] == size


async def test_a_small_day_is_listed_whole(tmp_path: Path) -> None:
    """Under the limits the answer is the whole day, counted, and not truncated."""
    folder = tmp_path / "failed" / DAY.isoformat() / "import_errors"
    folder.mkdir(parents=True)
    (folder / "batch_1.jsonl").write_bytes(LINE * 3)
    body, _ = await _failed(tmp_path)
    assert body["truncated"] is False
    assert body["files_total"] == 1
    assert body["records"] == 3
    assert body["files"][0]["kind"] == "import_errors"


async def test_scan_stops_at_its_limit(many_failed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A day with more entries than MAX_FAILED_SCAN is looked at only that far."""
    monkeypatch.setattr(api, "MAX_FAILED_SCAN", 50)
    body, _ = await _failed(many_failed)
    assert body["files_total"] <= 50
    assert body["truncated"] is True
