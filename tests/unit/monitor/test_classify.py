"""Classification of envelopes: identity, stage, record type and day."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from services.monitor.classify import classify, dead_letter_origin, event_id_of, parse_time
from shared.bus import Envelope
from shared.events import BatchImported, BatchProcessed, FileCollected, FileRejected, RecordType

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _collected(**extra: object) -> FileCollected:
    fields: dict[str, object] = {
        "path": "raw/2026-11-29/vehicles/drop_001.json",
        "sha256": "ab" * 32,
        "size_bytes": 10,
        "record_type": RecordType.VEHICLES,
        "source": "drop",
        "tool": "drop",
        "record_count": 3,
    }
    return FileCollected.model_validate({**fields, **extra})


def _envelope(subject: str, data: dict[str, object], **headers: str) -> Envelope:
    return Envelope(subject=subject, data=data, headers=headers)


def _processed() -> BatchProcessed:
    return BatchProcessed(
        batch_id="b1",
        record_type=RecordType.EVENTS,
        source="brave",
        raw_path="raw/x.json",
        processed_path="processed/x.json",
        records_read=5,
        records_valid=4,
        records_invalid=1,
        duplicates_in_batch=0,
        duration_s=0.1,
    )


def _imported() -> BatchImported:
    return BatchImported(
        batch_id="b1",
        record_type=RecordType.ARTICLES,
        source="tavily",
        processed_path="processed/x.json",
        rows_total=1,
        inserted=1,
        updated=0,
        unchanged=0,
        failed=0,
        chunks=1,
        duration_s=0.1,
    )


@pytest.mark.parametrize(
    ("event", "stage"),
    [
        (_collected(), "collector"),
        (_processed(), "processor"),
        (_imported(), "importer"),
        (FileRejected(path="raw/x", stage="processor", reason="bad json"), "processor"),
        (FileRejected(path="inbox/x", stage="collector", reason="too big"), "collector"),
    ],
)
def test_stage_follows_subject(event: FileCollected, stage: str) -> None:
    """Each event subject is classified into the stage that published it."""
    stored = classify(_envelope(event.subject, event.model_dump(mode="json")))
    assert stored.stage == stage
    assert stored.event_id == event.event_id


def test_record_type_source_and_day_come_from_the_payload() -> None:
    """Record type and source are read from the payload, and day is the UTC date of occurred_at."""
    event = _collected(occurred_at="2026-11-29T23:30:00-05:00")
    stored = classify(_envelope(event.subject, event.model_dump(mode="json")))
    assert (stored.record_type, stored.source) == ("vehicles", "drop")
    assert stored.day == date(2026, 11, 30)
    assert stored.occurred_at == datetime(2026, 11, 30, 4, 30, tzinfo=UTC)


def test_dead_letter_gets_its_own_deterministic_id() -> None:
    """A dead letter keeps the original payload but is stored under an id from its Nats-Msg-Id."""
    event = _processed()
    data = event.model_dump(mode="json")
    dead = _envelope(
        "dlq.records.processed", data, **{"Nats-Msg-Id": "dlq-7-NS", "Pipeline-Error": "boom"}
    )
    stored = classify(dead)
    assert stored.stage == "dlq"
    assert stored.error == "boom"
    assert stored.event_id != event.event_id
    assert stored.event_id == event_id_of(dead)
    assert dead_letter_origin(stored.subject) == "records.processed"


def test_command_without_event_id_is_identified_by_content() -> None:
    """A hand-typed command with no event_id gets the same id each time it is delivered."""
    envelope = _envelope("commands.process_file", {"path": "raw/x.json"})
    first, again = classify(envelope, now=NOW), classify(envelope, now=NOW)
    assert first.stage == "command"
    assert first.event_id == again.event_id
    assert isinstance(first.event_id, uuid.UUID)
    assert first.day == NOW.date()


def test_unknown_subject_and_bad_time_fall_back() -> None:
    """An unknown subject is stage 'other' and an unreadable occurred_at uses the receive time."""
    stored = classify(_envelope("something.else", {"occurred_at": "yesterday"}), now=NOW)
    assert stored.stage == "other"
    assert stored.occurred_at == NOW
    assert parse_time("2026-11-29T10:00:00") == datetime(2026, 11, 29, 10, tzinfo=UTC)
    assert parse_time(42) is None
