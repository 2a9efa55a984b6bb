"""process_file end to end on disk: outputs, lineage, dedupe, reports and file-level failures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.processor.processing import PROCESSING_VERSION, make_batch_id, process_file
from shared import PIPELINE_VERSION
from shared.events import RecordType
from shared.records import processed_columns
from shared.storage import DataDir

from .conftest import DAY, RawFactory, vehicle

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def _visible_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _run(raw: Path, data_dir: DataDir, record_type: RecordType = RecordType.VEHICLES) -> Any:
    return process_file(raw, record_type, data_dir, batch_id="abc-p1", now=NOW)


def test_batch_id_combines_content_hash_and_processing_version() -> None:
    """The batch id is the raw content hash prefix plus the processing version."""
    assert make_batch_id("f" * 64) == f"{'f' * 16}-p{PROCESSING_VERSION}"


def test_valid_records_get_lineage_grade_and_exact_columns(
    raw_file: RawFactory, data_dir: DataDir
) -> None:
    """Each valid line has exactly the processed columns, with lineage and investment grade."""
    raw = raw_file([vehicle(), vehicle(stockNumber="S-2", year=1965, price=150_000)])
    summary = _run(raw, data_dir)
    lines = _lines(data_dir.root / summary.processed_path)
    assert summary.records_read == summary.records_valid == 2
    assert [tuple(line) for line in lines] == [processed_columns(RecordType.VEHICLES)] * 2
    assert lines[1]["investment_grade"] == "A"
    assert lines[1]["grade_rule"] == "muscle_icon"
    assert lines[1]["record_position"] == 1
    assert lines[1]["raw_file"] == f"raw/{DAY}/vehicles/drop_001.json"
    assert lines[1]["batch_id"] == "abc-p1"
    assert lines[1]["processed_at"] == "2026-11-29T12:00:00+00:00"
    assert lines[1]["pipeline_version"] == PIPELINE_VERSION
    assert lines[0]["price"] == "45000.5"


def test_no_failed_file_when_every_record_is_valid(raw_file: RawFactory, data_dir: DataDir) -> None:
    """The validation-errors file is created only when there is an invalid record."""
    summary = _run(raw_file([vehicle()]), data_dir)
    assert summary.failed_path is None
    assert not (data_dir.root / "failed").joinpath(DAY).exists()


def test_invalid_records_go_to_failed_with_position_and_errors(
    raw_file: RawFactory, data_dir: DataDir
) -> None:
    """Invalid records are written apart, with position, every error and the original record."""
    bad = vehicle(price="priceless", year=1901)
    summary = _run(raw_file([vehicle(), bad, "oops"]), data_dir)
    failed = _lines(data_dir.root / summary.failed_path)
    assert summary.failed_path == f"failed/{DAY}/validation_errors/vehicles/drop_001.jsonl"
    assert (summary.records_valid, summary.records_invalid) == (1, 2)
    assert [f["position"] for f in failed] == [1, 2]
    assert failed[0]["record"] == bad
    assert {e["field"] for e in failed[0]["errors"]} == {"price", "year"}
    assert summary.errors_by_reason == {
        "schema:price:decimal_parsing": 1,
        "business_rule:year": 1,
        "schema:record:not_an_object": 1,
    }


def test_exact_duplicates_in_a_file_are_counted_and_written_once(
    raw_file: RawFactory, data_dir: DataDir
) -> None:
    """Records with the same natural key are written once and counted as in-batch duplicates."""
    raw = raw_file([vehicle(), vehicle(make=" ford "), vehicle(stockNumber="S-2"), vehicle()])
    summary = _run(raw, data_dir)
    lines = _lines(data_dir.root / summary.processed_path)
    assert summary.duplicates_in_batch == 2
    assert summary.records_valid == 2
    assert [line["record_position"] for line in lines] == [0, 2]


def test_unparseable_file_leaves_no_partial_output(raw_file: RawFactory, data_dir: DataDir) -> None:
    """A file truncated after good and bad records is rejected and nothing of it is visible."""
    content = orjson.dumps([vehicle(), vehicle(price="x"), vehicle(stockNumber="S-9")])[:-20]
    raw = raw_file(content)
    summary = _run(raw, data_dir)
    error_file = f"failed/{DAY}/file_errors/vehicles/drop_001.json"
    assert summary.rejected
    assert summary.processed_path is None
    assert summary.error_file == error_file
    assert _visible_files(data_dir.root) == {
        f"raw/{DAY}/vehicles/drop_001.json",
        error_file,
        f"processed/{DAY}/processing_report.json",
        f"processed/{DAY}/processing_report.json.lock",
    }
    error = orjson.loads((data_dir.root / error_file).read_bytes())
    assert error["raw_file"] == f"raw/{DAY}/vehicles/drop_001.json"
    assert "premature EOF" in error["reason"]
    assert error["position"]["records_before_error"] == 2
    assert error["detected_at"] == NOW.isoformat()
    assert raw.read_bytes() == content


@pytest.mark.parametrize("content", [b"", b"3.14", b"\x00\x01binary"])
def test_unusable_files_are_rejected_with_a_reason(
    raw_file: RawFactory, data_dir: DataDir, content: bytes
) -> None:
    """Empty, scalar and binary files are file-level failures with a recorded reason."""
    summary = _run(raw_file(content), data_dir)
    assert summary.rejected_reason
    assert (data_dir.root / summary.error_file).exists()
    assert list(data_dir.processed(NOW.date(), RecordType.VEHICLES).iterdir()) == []


def test_reprocessing_rewrites_the_same_files_and_report_entry(
    raw_file: RawFactory, data_dir: DataDir
) -> None:
    """Processing a file twice gives the same outputs and one report entry, not two."""
    raw = raw_file([vehicle(), vehicle(price=1)])
    first = _run(raw, data_dir)
    before = (data_dir.root / first.processed_path).read_bytes()
    second = _run(raw, data_dir)
    report = orjson.loads((data_dir.root / f"processed/{DAY}/processing_report.json").read_bytes())
    assert (data_dir.root / second.processed_path).read_bytes() == before
    assert list(report["files"]) == [f"raw/{DAY}/vehicles/drop_001.json"]
    assert report["totals"]["records_read"] == 2
    assert report["files"][first.raw_file]["records_invalid"] == 1


def test_report_keeps_one_entry_per_raw_file(raw_file: RawFactory, data_dir: DataDir) -> None:
    """The day's report holds every raw file once, with totals over all of them."""
    _run(raw_file([vehicle()], name="a_001.json"), data_dir)
    _run(raw_file(b"not json", name="b_001.json"), data_dir)
    report = orjson.loads((data_dir.root / f"processed/{DAY}/processing_report.json").read_bytes())
    assert {e["status"] for e in report["files"].values()} == {"processed", "rejected"}
    assert report["totals"]["files"] == 2
    assert report["totals"]["files_rejected"] == 1


def test_event_records_have_no_grade_columns(raw_file: RawFactory, data_dir: DataDir) -> None:
    """Non-vehicle records carry lineage but no investment grade."""
    event = {
        "sourceName": "drop",
        "name": "Pebble Beach",
        "eventType": "Concours",
        "startDate": "2026-08-16",
        "city": "Pebble Beach",
    }
    raw = raw_file({"events": [event]}, record_type="events")
    summary = _run(raw, data_dir, RecordType.EVENTS)
    (line,) = _lines(data_dir.root / summary.processed_path)
    assert tuple(line) == processed_columns(RecordType.EVENTS)
    assert "investment_grade" not in line
    assert line["event_type"] == "concours"


def test_many_records_are_processed_in_one_pass(tmp_path: Path, data_dir: DataDir) -> None:
    """A 20,000-record JSON Lines file is processed in full, streaming."""
    raw = data_dir.root / "raw" / DAY / "vehicles" / "bulk_001.jsonl"
    raw.parent.mkdir(parents=True)
    raw.write_bytes(b"\n".join(orjson.dumps(vehicle(stockNumber=str(i))) for i in range(20_000)))
    summary = _run(raw, data_dir)
    assert summary.records_valid == 20_000
    assert len((data_dir.root / summary.processed_path).read_bytes().splitlines()) == 20_000
