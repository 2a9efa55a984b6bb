"""What processing one raw file produced, and the day's ``processing_report.json``.

The report holds one entry per raw file and totals over them: counts of records, failures by
reason, by kind (schema / business_rule / source, reported apart), by record type and by source,
and the repairs made to the rows written, by rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shared.events import RecordType
from shared.storage import update_json

from .stages import check

COUNTS = (
    "records_read",
    "records_valid",
    "records_invalid",
    "duplicates_in_batch",
    "known_duplicates",
    "near_duplicates",
    "records_repaired",
)


@dataclass
class Summary:
    """What processing one raw file produced; paths are relative to DATA_DIR."""

    raw_file: str
    record_type: RecordType
    batch_id: str
    source: str = "drop"
    tool: str = "drop"
    original_name: str | None = None  # the file's name as dropped in the inbox
    records_read: int = 0
    records_valid: int = 0
    records_invalid: int = 0
    duplicates_in_batch: int = 0
    known_duplicates: int = 0  # valid records already known from another file, day or replica
    near_duplicates: int = 0  # valid records linked to a canonical listing
    records_repaired: int = 0
    geocode_failures: int = 0  # online lookups that got no answer (left uncached, asked again)
    repairs_by_rule: dict[str, int] = field(default_factory=dict)  # of the rows written
    errors_by_reason: dict[str, int] = field(default_factory=dict)
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    processed_path: str | None = None
    failed_path: str | None = None
    rejected_reason: str | None = None
    error_file: str | None = None
    duration_s: float = 0.0

    @property
    def rejected(self) -> bool:
        """Return True when the file could not be read at all."""
        return self.rejected_reason is not None

    def count_failure(self, errors: list[dict[str, Any]]) -> None:
        """Count one invalid record and each of its errors by reason and by kind."""
        self.records_invalid += 1
        check.count_reasons(errors, self.errors_by_reason)
        for error in errors:
            kind = check.reason_key(error).split(":", 1)[0]
            self.errors_by_kind[kind] = self.errors_by_kind.get(kind, 0) + 1

    def count_repairs(self, repairs: Iterable[Mapping[str, Any]]) -> None:
        """Count a repaired record that became a row, and each of its repairs by rule."""
        self.records_repaired += 1
        for repair in repairs:
            rule = repair["rule"]
            self.repairs_by_rule[rule] = self.repairs_by_rule.get(rule, 0) + 1

    def report_entry(self) -> dict[str, Any]:
        """Return this summary as an entry of ``processing_report.json``."""
        entry = asdict(self)
        entry["status"] = "rejected" if self.rejected else "processed"
        return entry


def update_report(report: Path, summary: Summary) -> None:
    """Put the summary's entry in the day's report and recompute the totals (under a lock)."""
    entry = summary.report_entry()

    def change(data: dict[str, Any]) -> dict[str, Any]:
        files = dict(data.get("files", {}))
        files[summary.raw_file] = entry
        return {"files": files, "totals": totals(files.values())}

    update_json(report, change, default={})


def _add(target: dict[str, int], counts: Mapping[str, Any]) -> None:
    for key, value in counts.items():
        target[key] = target.get(key, 0) + int(value)


def totals(entries: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Return the report's totals: counts, failures by reason and kind, per type and source."""
    result: dict[str, Any] = dict.fromkeys(COUNTS, 0)
    result.update(files=0, files_rejected=0, errors_by_reason={}, errors_by_kind={})
    result.update(repairs_by_rule={})
    result.update(by_type={}, by_source={})
    for entry in entries:
        result["files"] += 1
        result["files_rejected"] += entry.get("status") == "rejected"
        counts = {key: entry.get(key, 0) for key in COUNTS}
        _add(result, counts)
        _add(result["errors_by_reason"], entry.get("errors_by_reason", {}))
        _add(result["errors_by_kind"], entry.get("errors_by_kind", {}))
        _add(result["repairs_by_rule"], entry.get("repairs_by_rule", {}))
        for name, group in (("by_type", "record_type"), ("by_source", "source")):
            bucket = result[name].setdefault(str(entry.get(group)), {"errors_by_reason": {}})
            _add(bucket, counts)
            _add(bucket["errors_by_reason"], entry.get("errors_by_reason", {}))
    return result
