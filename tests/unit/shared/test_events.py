"""Event payloads: tolerant of fields added by a newer version, strict about what they need."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from shared.events import BatchProcessed, RecordType

PROCESSED = {
    "batch_id": "b1",
    "record_type": "vehicles",
    "source": "drop",
    "raw_path": "raw/2026-11-29/vehicles/drop_001.json",
    "processed_path": "processed/2026-11-29/vehicles/drop_001.jsonl",
    "records_read": 3,
    "records_valid": 2,
    "records_invalid": 1,
    "duplicates_in_batch": 0,
    "duration_s": 0.1,
}


def test_a_field_added_by_a_newer_version_is_ignored_not_refused() -> None:
    """A replica still on the previous version handles the event (rolling upgrade), no DLQ."""
    newer = {**PROCESSED, "a_field_from_the_future": {"x": 1}}
    event = BatchProcessed.model_validate_json(orjson.dumps(newer))
    assert (event.batch_id, event.record_type) == ("b1", RecordType.VEHICLES)
    assert "a_field_from_the_future" not in event.model_dump()


def test_an_event_from_an_older_version_gets_the_new_fields_defaults() -> None:
    """An event written before ``repairs_by_rule`` existed reads as no repairs."""
    assert BatchProcessed.model_validate(PROCESSED).repairs_by_rule == {}


def test_a_missing_required_field_is_still_refused() -> None:
    """Tolerance is for additions: an event without what its consumer needs is invalid."""
    incomplete = {key: value for key, value in PROCESSED.items() if key != "processed_path"}
    with pytest.raises(ValidationError):
        BatchProcessed.model_validate(incomplete)
