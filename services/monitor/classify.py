"""Turn a bus envelope into the row the monitor stores: identity, stage, record type, day.

Pure functions, no I/O. Identity rules, so that redelivery and replays are counted once:

- an event's own ``event_id`` from its payload;
- a dead letter carries the original payload (and so the original ``event_id``), so its id is
  derived from the dead-letter ``Nats-Msg-Id`` header, which the bus makes deterministic;
- anything else (a hand-typed command without ``event_id``) gets an id derived from its
  ``Nats-Msg-Id`` header, or failing that from its subject and canonical payload.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson

from shared import subjects
from shared.bus import Envelope
from shared.events import derived_id, utcnow

COLLECTOR = "collector"
PROCESSOR = "processor"
IMPORTER = "importer"
DLQ = "dlq"
COMMAND = "command"
OTHER = "other"

_STAGE_BY_SUBJECT = {
    subjects.FILES_COLLECTED: COLLECTOR,
    subjects.RECORDS_PROCESSED: PROCESSOR,
    subjects.RECORDS_IMPORTED: IMPORTER,
}
_DLQ_PREFIX = subjects.DLQ_PREFIX + "."
_COMMAND_PREFIX = "commands."
ERROR_HEADER = "Pipeline-Error"
MSG_ID_HEADER = "Nats-Msg-Id"


@dataclass(frozen=True)
class MonitorEvent:
    """One event as the monitor stores it."""

    event_id: uuid.UUID
    subject: str
    stage: str
    record_type: str | None
    source: str | None
    day: date
    occurred_at: datetime
    payload: dict[str, Any]
    error: str | None


def classify(envelope: Envelope, *, now: datetime | None = None) -> MonitorEvent:
    """Return the stored form of an envelope; ``now`` stands in for a missing ``occurred_at``."""
    data = envelope.data
    occurred_at = parse_time(data.get("occurred_at")) or now or utcnow()
    return MonitorEvent(
        event_id=event_id_of(envelope),
        subject=envelope.subject,
        stage=stage_of(envelope.subject, data),
        record_type=_text(data.get("record_type")),
        source=_text(data.get("source")),
        day=occurred_at.astimezone(UTC).date(),
        occurred_at=occurred_at,
        payload=data,
        error=error_of(envelope),
    )


def stage_of(subject: str, data: dict[str, Any]) -> str:
    """Return the pipeline stage a bare subject belongs to."""
    if subject.startswith(_DLQ_PREFIX):
        return DLQ
    if subject.startswith(_COMMAND_PREFIX):
        return COMMAND
    if subject == subjects.FILES_REJECTED:
        return _text(data.get("stage")) or PROCESSOR
    return _STAGE_BY_SUBJECT.get(subject, OTHER)


# The stage whose consumer failed on a subject: a dead letter of that subject is that stage's error.
_CONSUMER_STAGE = {
    subjects.FILES_COLLECTED: PROCESSOR,
    subjects.COMMAND_PROCESS_FILE: PROCESSOR,
    subjects.RECORDS_PROCESSED: IMPORTER,
    subjects.COMMAND_IMPORT_FILE: IMPORTER,
}


def dead_letter_stage(subject: str) -> str:
    """Return the stage that failed on a dead letter (``dlq.records.processed`` -> importer)."""
    return _CONSUMER_STAGE.get(dead_letter_origin(subject), OTHER)


def dead_letter_origin(subject: str) -> str:
    """Return the subject a dead letter was first published on (``dlq.a.b`` -> ``a.b``)."""
    return subject.removeprefix(_DLQ_PREFIX)


def event_id_of(envelope: Envelope) -> uuid.UUID:
    """Return the deterministic id under which an envelope is stored."""
    msg_id = envelope.headers.get(MSG_ID_HEADER)
    if envelope.subject.startswith(_DLQ_PREFIX):
        if msg_id:
            return derived_id("monitor", envelope.subject, msg_id)
        return _content_id(envelope)
    own = _uuid(envelope.data.get("event_id"))
    if own is not None:
        return own
    if msg_id:
        return derived_id("monitor", envelope.subject, msg_id)
    return _content_id(envelope)


def error_of(envelope: Envelope) -> str | None:
    """Return the failure an envelope reports: the dead-letter reason or a rejection reason."""
    if ERROR_HEADER in envelope.headers:
        return envelope.headers[ERROR_HEADER]
    if envelope.subject == subjects.FILES_REJECTED:
        return _text(envelope.data.get("reason"))
    return None


def parse_time(value: object) -> datetime | None:
    """Return a timezone-aware datetime from an ISO string, or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _content_id(envelope: Envelope) -> uuid.UUID:
    body = orjson.dumps(envelope.data, option=orjson.OPT_SORT_KEYS).decode()
    return derived_id("monitor", envelope.subject, body)


def _uuid(value: object) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
