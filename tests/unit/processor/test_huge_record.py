"""A single record of 50 MB: it fails with its reason, is kept, and its neighbours load."""

from __future__ import annotations

import orjson

from services.processor.processing import process_file
from shared.events import RecordType
from shared.storage import DataDir
from tests.unit.processor.conftest import DAY, RawFactory, vehicle


def test_a_50_mb_record_is_rejected_with_its_reason_and_kept(
    data_dir: DataDir, raw_file: RawFactory
) -> None:
    """A 50 MB description breaks the length rule; the record is kept whole, the others load."""
    huge = vehicle(stockNumber="HUGE", description="x" * 50_000_000)
    path = raw_file([vehicle(stockNumber="A"), huge, vehicle(stockNumber="B")])
    summary = process_file(path, RecordType.VEHICLES, data_dir, batch_id="b-huge")
    assert (summary.records_valid, summary.records_invalid) == (2, 1)
    failed = data_dir.root / "failed" / DAY / "validation_errors" / "vehicles" / "drop_001.jsonl"
    (line,) = failed.read_bytes().splitlines()
    kept = orjson.loads(line)
    assert kept["position"] == 1
    assert kept["errors"][0]["field"] == "description"
    assert kept["errors"][0]["rule"] == "string_too_long"
    assert kept["record"]["stockNumber"] == "HUGE"
