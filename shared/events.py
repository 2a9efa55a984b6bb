"""Event and command payloads, one class per subject.

Claim check: an event names a file, it never carries the records.

Events are frozen. They ignore fields they do not know (a tolerant reader): a field added to an
event, with a default, reaches a consumer still running the previous version during a rolling
upgrade of replicas, and that consumer handles the event instead of dead-lettering it. Removing or
renaming a field, or changing its meaning, is a breaking change: it bumps ``schema_version``.
``ProcessFile`` is a command that people type with ``nats pub``, so only ``path`` is required and
the rest is filled in.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared import subjects

_ID_NAMESPACE = uuid.UUID("6f1c1a52-43a4-4a5e-9a51-2f1f2b0c9d11")


def derived_id(*parts: str) -> uuid.UUID:
    """Return a deterministic event id, so a repeated publish is dropped by JetStream dedupe."""
    return uuid.uuid5(_ID_NAMESPACE, "|".join(parts))


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class RecordType(StrEnum):
    """The three kinds of record the pipeline carries."""

    VEHICLES = "vehicles"
    EVENTS = "events"
    ARTICLES = "articles"


class Event(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    subject: ClassVar[str]

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    occurred_at: datetime = Field(default_factory=utcnow)
    schema_version: int = 1


class FileCollected(Event):
    """A raw file is complete under ``raw/`` and ready to process."""

    subject: ClassVar[str] = subjects.FILES_COLLECTED

    path: str = Field(description="path relative to DATA_DIR")
    sha256: str
    size_bytes: int
    record_type: RecordType
    source: str = Field(description="provider or 'drop'")
    tool: str
    original_name: str | None = None
    record_count: int | None = None


class FileRejected(Event):
    """A file could not be used at all; it is kept in place and the reason is recorded."""

    subject: ClassVar[str] = subjects.FILES_REJECTED

    path: str
    stage: str
    reason: str
    record_type: RecordType | None = None
    error_file: str | None = None
    original_name: str | None = Field(default=None, description="the file's name as dropped")


class ProcessFile(Event):
    """Command: (re)process a file that is already under ``raw/``."""

    subject: ClassVar[str] = subjects.COMMAND_PROCESS_FILE

    path: str = Field(description="path relative to DATA_DIR (or absolute inside it)")
    record_type: RecordType | None = None


class ImportFile(Event):
    """Command: (re)load a file that is already under ``processed/`` (import a date, re-drive)."""

    subject: ClassVar[str] = subjects.COMMAND_IMPORT_FILE

    path: str = Field(description="path relative to DATA_DIR, under processed/")
    record_type: RecordType | None = None


class BatchProcessed(Event):
    """Valid records of one raw file are written to ``processed/`` and ready to import."""

    subject: ClassVar[str] = subjects.RECORDS_PROCESSED

    batch_id: str
    record_type: RecordType
    source: str
    raw_path: str
    processed_path: str
    failed_path: str | None = None
    original_name: str | None = Field(default=None, description="the file's name as dropped")
    records_read: int
    records_valid: int
    records_invalid: int
    duplicates_in_batch: int
    errors_by_reason: dict[str, int] = Field(default_factory=dict)
    repairs_by_rule: dict[str, int] = Field(
        default_factory=dict, description="repairs made to the rows written, by rule"
    )
    near_duplicates: int = 0
    field_completeness: dict[str, float] = Field(
        default_factory=dict, description="optional field -> share of valid records that fill it"
    )
    geocode_failures: int = Field(
        default=0,
        ge=0,
        description="online geocoder lookups that failed (left uncached, asked again later)",
    )
    duration_s: float


class BatchImported(Event):
    """A processed batch is committed to PostgreSQL."""

    subject: ClassVar[str] = subjects.RECORDS_IMPORTED

    batch_id: str
    record_type: RecordType
    source: str
    processed_path: str
    rows_total: int
    inserted: int
    updated: int
    unchanged: int
    failed: int
    chunks: int
    duration_s: float


class ImportProgress(Event):
    """Telemetry: one chunk of a batch is committed (for progress bars and the monitor)."""

    subject: ClassVar[str] = subjects.IMPORT_PROGRESS

    batch_id: str
    record_type: RecordType
    rows_done: int
    rows_total: int | None = None
    rows_per_s: float


class ProviderUsage(Event):
    """Telemetry: what one collection run spent at one provider (API budgets cost money)."""

    subject: ClassVar[str] = subjects.PROVIDER_USAGE

    provider: str
    requests: int
    failures: int
    retries: int = 0
    latency_ms_p50: float | None = None
    latency_ms_p95: float | None = None
    latency_ms_mean: float | None = Field(default=None, description="mean of the requests' times")
    credits: float | None = None
    statuses: dict[str, int] = Field(default_factory=dict)


class ScrapeCompleted(Event):
    """A collection run (scheduled or triggered) finished, with what it wrote."""

    subject: ClassVar[str] = subjects.SCRAPE_COMPLETED

    run_id: str
    record_type: RecordType
    provider: str
    query: str | None = None
    files: list[str] = Field(default_factory=list)
    records: int
    errors: list[str] = Field(default_factory=list)
    duration_s: float


class AlertRaised(Event):
    """Something needs a person: a bad API key, a dead-lettered batch, a failing stage."""

    subject: ClassVar[str] = subjects.ALERT_RAISED

    service: str
    kind: str = Field(description="stable machine name, e.g. provider_auth_failed")
    severity: str = Field(default="warning", pattern="^(info|warning|critical)$")
    message: str
    details: dict[str, str | int | float | None] = Field(default_factory=dict)


class Heartbeat(BaseModel):
    """A service is alive (core NATS, not stored): sent every few seconds by every process."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    service: str
    instance: str
    started_at: datetime
    sent_at: datetime = Field(default_factory=utcnow)
    pipeline_version: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.subject: cls
    for cls in (
        FileCollected,
        FileRejected,
        ProcessFile,
        ImportFile,
        BatchProcessed,
        BatchImported,
        ImportProgress,
        ProviderUsage,
        ScrapeCompleted,
        AlertRaised,
    )
}
