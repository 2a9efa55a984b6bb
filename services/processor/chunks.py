"""Turn a raw file's values into processed rows, chunk by chunk (blocking; runs in a thread).

Each value is mapped by its source's mapper, repaired, validated and enriched; invalid values
are written to the failed file at once, valid rows are returned in chunks so the async side can
link them against the known index before they are written. Only one chunk is held in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shared.records import LINK_FIELDS, MODELS, processed_columns

from . import transform
from .enrich.record import Enricher
from .seen import DigestSet
from .sources import Normalizer
from .summary import Summary
from .writer import BatchWriter

_NO_LINK: dict[str, Any] = dict.fromkeys(LINK_FIELDS)


@dataclass
class ChunkReader:
    """Reads, normalizes, validates and enriches the values of one raw file."""

    values: Iterator[Any]
    summary: Summary
    writer: BatchWriter
    normalizer: Normalizer
    enricher: Enricher
    lineage: dict[str, Any]

    def __post_init__(self) -> None:
        """Prepare the model, the output columns and the in-file exact-duplicate set."""
        self.model = MODELS[self.summary.record_type]
        self.columns = processed_columns(self.summary.record_type)
        self.seen = DigestSet()  # the only state that grows with the file: ~16 bytes a record
        self.position = 0

    def read(self, size: int) -> list[dict[str, Any]]:
        """Return up to ``size`` new valid rows (fewer only at the end of the file)."""
        rows: list[dict[str, Any]] = []
        for value in self.values:
            row = self._one(value, self.position)
            self.position += 1
            if row is not None:
                rows.append(row)
                if len(rows) >= size:
                    break
        return rows

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Write linked rows to the processed file, in the exact column order."""
        for row in rows:
            self.writer.write_valid(transform.dumps_line({c: row[c] for c in self.columns}))

    def _one(self, value: Any, position: int) -> dict[str, Any] | None:
        summary = self.summary
        summary.records_read += 1
        mapped = self.normalizer(value)
        outcome = transform.validate(mapped.record, self.model)
        errors = mapped.errors + (outcome if isinstance(outcome, list) else [])
        if errors or isinstance(outcome, list):
            summary.count_failure(errors)
            line = transform.failure_line(summary.raw_file, position, errors, value, mapped.repairs)
            self.writer.write_failed(line)
            return None
        summary.records_repaired += bool(mapped.repairs)
        extra = {**self.lineage, **_NO_LINK, "record_position": position}
        extra.update(self.enricher.enrich(outcome, list(mapped.repairs)))
        row = transform.build_row(outcome, self.columns, extra)
        digest = bytes.fromhex(row["data_hash"])
        if not self.seen.add(digest):
            summary.duplicates_in_batch += 1
            return None
        summary.records_valid += 1
        return row
