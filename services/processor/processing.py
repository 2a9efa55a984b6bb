"""Process one raw file, synchronously: read, validate, dedupe, grade, write, report.

This is the CPU-bound core the handlers run in a worker thread. Output names derive from the raw
file only, so processing the same file again rewrites the same files (idempotent).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from shared import PIPELINE_VERSION
from shared.events import RecordType, utcnow
from shared.records import LINK_FIELDS, MODELS, Vehicle, processed_columns
from shared.storage import DataDir, day_of, update_json, write_json_atomic

from . import transform
from .grading import DEFAULT_GRADE_RULES, GradeRule, grade
from .reader import UnreadableFileError, iter_values
from .writer import BatchWriter

PROCESSING_VERSION = 1
"""Bump when the processed output of a file changes; it is part of every batch id."""


def make_batch_id(raw_sha256: str) -> str:
    """Return the batch id of a raw file: its content hash prefix and the processing version."""
    return f"{raw_sha256[:16]}-p{PROCESSING_VERSION}"


@dataclass(frozen=True)
class OutputPaths:
    """Where the outputs of one raw file go."""

    processed: Path
    failed: Path
    file_error: Path
    report: Path

    @classmethod
    def for_raw(cls, data_dir: DataDir, raw_path: Path, record_type: RecordType) -> OutputPaths:
        """Return the deterministic output paths of ``raw/DATE/{type}/{stem}.json``."""
        day, stem, kind = day_of(raw_path), raw_path.stem, record_type.value
        processed = data_dir.processed(day, record_type) / f"{stem}.jsonl"
        return cls(
            processed=processed,
            failed=data_dir.failed(day, "validation_errors") / kind / f"{stem}.jsonl",
            file_error=data_dir.failed(day, "file_errors") / kind / f"{stem}.json",
            report=processed.parent.parent / "processing_report.json",
        )


@dataclass
class Summary:
    """What processing one raw file produced; paths are relative to DATA_DIR."""

    raw_file: str
    record_type: RecordType
    batch_id: str
    records_read: int = 0
    records_valid: int = 0
    records_invalid: int = 0
    duplicates_in_batch: int = 0
    errors_by_reason: dict[str, int] = field(default_factory=dict)
    processed_path: str | None = None
    failed_path: str | None = None
    rejected_reason: str | None = None
    error_file: str | None = None
    duration_s: float = 0.0

    @property
    def rejected(self) -> bool:
        """Return True when the file could not be read at all."""
        return self.rejected_reason is not None

    def report_entry(self) -> dict[str, Any]:
        """Return this summary as an entry of ``processing_report.json``."""
        entry = asdict(self)
        entry["status"] = "rejected" if self.rejected else "processed"
        return entry


def process_file(
    raw_path: Path,
    record_type: RecordType,
    data_dir: DataDir,
    *,
    batch_id: str,
    rules: Sequence[GradeRule] = DEFAULT_GRADE_RULES,
    now: datetime | None = None,
) -> Summary:
    """Process one raw file into its processed and failed files, and update the day's report.

    A file that cannot be parsed leaves no processed output: it gets a ``file_errors`` entry and
    a summary with ``rejected_reason``; the raw file stays where it is.
    """
    started = time.monotonic()
    paths = OutputPaths.for_raw(data_dir, raw_path, record_type)
    summary = Summary(
        raw_file=data_dir.relative(raw_path), record_type=record_type, batch_id=batch_id
    )
    processed_at = (now or utcnow()).isoformat()
    try:
        _write_outputs(raw_path, paths, summary, rules, processed_at)
    except UnreadableFileError as exc:
        _reject(summary, paths, data_dir, exc, processed_at)
    else:
        summary.processed_path = data_dir.relative(paths.processed)
        if summary.records_invalid:
            summary.failed_path = data_dir.relative(paths.failed)
        paths.file_error.unlink(missing_ok=True)
    summary.duration_s = round(time.monotonic() - started, 6)
    _update_report(paths.report, summary)
    return summary


def _write_outputs(
    raw_path: Path,
    paths: OutputPaths,
    summary: Summary,
    rules: Sequence[GradeRule],
    processed_at: str,
) -> None:
    record_type = summary.record_type
    model = MODELS[record_type]
    columns = processed_columns(record_type)
    lineage: dict[str, Any] = {
        "raw_file": summary.raw_file,
        "batch_id": summary.batch_id,
        "processed_at": processed_at,
        "pipeline_version": PIPELINE_VERSION,
    }
    seen: set[bytes] = set()  # 32-byte digests: the only state that grows with the file
    with BatchWriter(paths.processed, paths.failed) as writer:
        for position, value in enumerate(iter_values(raw_path, record_type)):
            summary.records_read += 1
            outcome = transform.validate(value, model)
            if isinstance(outcome, list):
                summary.records_invalid += 1
                transform.count_reasons(outcome, summary.errors_by_reason)
                writer.write_failed(
                    transform.failure_line(summary.raw_file, position, outcome, value)
                )
                continue
            extra = {**lineage, "record_position": position, **_enrichment(outcome, rules)}
            row = transform.build_row(outcome, columns, extra)
            digest = bytes.fromhex(row["data_hash"])
            if digest in seen:
                summary.duplicates_in_batch += 1
                continue
            seen.add(digest)
            writer.write_valid(transform.dumps_line(row))
            summary.records_valid += 1


_NO_LINK: dict[str, Any] = dict.fromkeys(LINK_FIELDS)


def _enrichment(record: Any, rules: Sequence[GradeRule]) -> dict[str, Any]:
    if isinstance(record, Vehicle):
        investment_grade, rule_name = grade(record, rules)
        return {**_NO_LINK, "investment_grade": investment_grade, "grade_rule": rule_name}
    return _NO_LINK


def _reject(
    summary: Summary,
    paths: OutputPaths,
    data_dir: DataDir,
    exc: UnreadableFileError,
    detected_at: str,
) -> None:
    summary.records_valid = summary.records_invalid = summary.duplicates_in_batch = 0
    summary.errors_by_reason = {}
    summary.rejected_reason = exc.reason
    summary.error_file = data_dir.relative(paths.file_error)
    write_json_atomic(
        paths.file_error,
        {
            "raw_file": summary.raw_file,
            "record_type": summary.record_type.value,
            "batch_id": summary.batch_id,
            "reason": exc.reason,
            "position": exc.position(),
            "detected_at": detected_at,
        },
    )


def _update_report(report: Path, summary: Summary) -> None:
    entry = summary.report_entry()

    def change(data: dict[str, Any]) -> dict[str, Any]:
        files = dict(data.get("files", {}))
        files[summary.raw_file] = entry
        return {"files": files, "totals": _totals(files.values())}

    update_json(report, change, default={})


def _totals(entries: Any) -> dict[str, int]:
    keys = ("records_read", "records_valid", "records_invalid", "duplicates_in_batch")
    totals = dict.fromkeys(keys, 0)
    totals["files"] = totals["files_rejected"] = 0
    for entry in entries:
        totals["files"] += 1
        totals["files_rejected"] += entry.get("status") == "rejected"
        for key in keys:
            totals[key] += int(entry.get(key, 0))
    return totals
