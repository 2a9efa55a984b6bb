"""Prometheus counters of the pipeline, in a registry of their own (one per running service).

Counters move by ``Tally``: one newly stored event, or at start-up one group of stored events
summed in SQL. Both paths go through ``PipelineMetrics.add``, so a restart seeded from the
database shows exactly what the process showed before it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeGuard

from prometheus_client import CollectorRegistry, Counter, generate_latest

from services.monitor.classify import MonitorEvent, dead_letter_origin
from shared import subjects

# Numeric payload fields that counters sum, per subject (also summed by the seeding query).
SUMMED_FIELDS: dict[str, tuple[str, ...]] = {
    subjects.FILES_COLLECTED: ("record_count",),
    subjects.RECORDS_PROCESSED: (
        "records_read",
        "records_valid",
        "records_invalid",
        "duplicates_in_batch",
        "geocode_failures",
    ),
    subjects.RECORDS_IMPORTED: ("rows_total", "inserted", "updated", "unchanged", "failed"),
}
ALL_SUMMED_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys(name for names in SUMMED_FIELDS.values() for name in names)
)
UNKNOWN = "unknown"
_TYPE_SOURCE = ("record_type", "source")


@dataclass(frozen=True)
class Tally:
    """A number of stored events sharing subject, stage, record type and source."""

    subject: str
    stage: str
    record_type: str | None
    source: str | None
    events: int
    sums: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, event: MonitorEvent) -> Tally:
        """Return the tally of one event."""
        sums = {
            name: value
            for name in SUMMED_FIELDS.get(event.subject, ())
            if _count(value := event.payload.get(name))
        }
        return cls(event.subject, event.stage, event.record_type, event.source, 1, sums)


def _count(value: object) -> TypeGuard[int]:
    """Tell whether a payload value is a count a counter may add (mirrors ``store.count_sql``)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class PipelineMetrics:
    """The counters ``/metrics`` exposes."""

    def __init__(self) -> None:
        """Create the counters in a fresh registry."""
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events = Counter(
            "pipeline_events", "Distinct events seen", ["subject", "stage"], registry=r
        )
        self.files_collected = Counter(
            "pipeline_files_collected", "Raw files collected", _TYPE_SOURCE, registry=r
        )
        self.records_collected = Counter(
            "pipeline_records_collected", "Records in collected files", _TYPE_SOURCE, registry=r
        )
        self.batches_processed = Counter(
            "pipeline_batches_processed", "Batches processed", _TYPE_SOURCE, registry=r
        )
        self.records_read = Counter(
            "pipeline_records_read", "Records read by the processor", _TYPE_SOURCE, registry=r
        )
        self.records_valid = Counter(
            "pipeline_records_valid", "Records that passed validation", _TYPE_SOURCE, registry=r
        )
        self.records_invalid = Counter(
            "pipeline_records_invalid", "Records that failed validation", _TYPE_SOURCE, registry=r
        )
        self.duplicates = Counter(
            "pipeline_duplicates", "Duplicates dropped within a batch", _TYPE_SOURCE, registry=r
        )
        self.geocode_failures = Counter(
            "pipeline_geocode_failures",
            "Online geocoder lookups that failed (left uncached, asked again)",
            _TYPE_SOURCE,
            registry=r,
        )
        self.batches_imported = Counter(
            "pipeline_batches_imported", "Batches imported", _TYPE_SOURCE, registry=r
        )
        self.rows_inserted = Counter(
            "pipeline_rows_inserted", "Rows inserted", _TYPE_SOURCE, registry=r
        )
        self.rows_updated = Counter(
            "pipeline_rows_updated", "Rows updated", _TYPE_SOURCE, registry=r
        )
        self.rows_unchanged = Counter(
            "pipeline_rows_unchanged", "Rows left unchanged", _TYPE_SOURCE, registry=r
        )
        self.import_failed = Counter(
            "pipeline_import_failed", "Rows that failed to import", _TYPE_SOURCE, registry=r
        )
        self.files_rejected = Counter(
            "pipeline_files_rejected", "Files rejected", ["stage", "record_type"], registry=r
        )
        self.dead_letters = Counter(
            "pipeline_dead_letters", "Dead letters, by original subject", ["subject"], registry=r
        )

    def add(self, tally: Tally) -> None:
        """Move the counters by a tally."""
        self.events.labels(tally.subject, tally.stage).inc(tally.events)
        labels = (tally.record_type or UNKNOWN, tally.source or UNKNOWN)
        sums = tally.sums
        if tally.subject == subjects.FILES_COLLECTED:
            self.files_collected.labels(*labels).inc(tally.events)
            self.records_collected.labels(*labels).inc(sums.get("record_count", 0))
        elif tally.subject == subjects.RECORDS_PROCESSED:
            self.batches_processed.labels(*labels).inc(tally.events)
            self.records_read.labels(*labels).inc(sums.get("records_read", 0))
            self.records_valid.labels(*labels).inc(sums.get("records_valid", 0))
            self.records_invalid.labels(*labels).inc(sums.get("records_invalid", 0))
            self.duplicates.labels(*labels).inc(sums.get("duplicates_in_batch", 0))
            self.geocode_failures.labels(*labels).inc(sums.get("geocode_failures", 0))
        elif tally.subject == subjects.RECORDS_IMPORTED:
            self.batches_imported.labels(*labels).inc(tally.events)
            self.rows_inserted.labels(*labels).inc(sums.get("inserted", 0))
            self.rows_updated.labels(*labels).inc(sums.get("updated", 0))
            self.rows_unchanged.labels(*labels).inc(sums.get("unchanged", 0))
            self.import_failed.labels(*labels).inc(sums.get("failed", 0))
        elif tally.subject == subjects.FILES_REJECTED:
            self.files_rejected.labels(tally.stage, labels[0]).inc(tally.events)
        elif tally.subject.startswith(subjects.DLQ_PREFIX + "."):
            self.dead_letters.labels(dead_letter_origin(tally.subject)).inc(tally.events)

    def render(self) -> bytes:
        """Return the counters in the Prometheus text format."""
        return generate_latest(self.registry)
