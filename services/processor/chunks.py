"""The reading side of a chunk: a raw file's values through read, normalize, check and enrich.

Blocking; it runs in the reader process or a worker thread (``reader_process``). Each value is
read (``stages.read``), mapped from its source's shape and repaired (``stages.normalize``),
validated or failed, and dropped if the file already produced it (``stages.check``), then
enriched offline (``stages.enrich``). A chunk holds the valid new rows, which the async side
links and enriches online before they are written, and the failure lines of the invalid values
read with them. Only one chunk is held in memory: a chunk ends after ``size`` values that
produced a row or a failure.

A row crosses to the async side as only what linking and the online stages fill (``data_hash``
and the link fields, enrichment included) and its processed line already serialized around them
(``stages.write.Frame``): the rest of the row is final once read, and pickling ~30 fields a row
to the service and back into dicts cost more than serializing them once where they are made.

``ReadJob`` says everything reading a file needs and can be sent to another process (pickled):
``reader_process.ReaderProcess`` reads there, ``reader_process.InThread`` in a worker thread.
``ReadJob`` in and ``Chunk`` out are what crosses between the two sides, so they sit here beside
the composition rather than in one of the stages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.events import RecordType
from shared.records import LINK_FIELDS, MODELS

from .seen import DigestSet
from .stages import check
from .stages.enrich import Enricher
from .stages.normalize import Normalizer
from .stages.read import iter_values
from .stages.write import Frame, frame, frame_columns
from .summary import Summary

CHUNK_SIZE = 500
"""Records per chunk: read, linked in one transaction and weighed together (``dedup.rarity``).

A chunk's candidates are in memory at once. On the end-to-end benchmark's 200,000 listings, 500
cost less CPU a record than 1,000 (1,309 against 1,378 us, ``bench.processor.bench_files``) and
~30 MiB less at the service's peak, and on a 1 GB file it keeps the processor under 300 MiB;
its links are as good (``pipeline dedup-quality``)."""

_NO_LINK: dict[str, Any] = dict.fromkeys(LINK_FIELDS)
_OPEN_FIELDS = ("data_hash", *LINK_FIELDS)  # what a row keeps unserialized

Prepare = Callable[[RecordType, list[dict[str, Any]]], object]
"""What linking a chunk's rows needs, computed on the reading side (``LinkChunk.prepare``)."""


@dataclass
class Chunk:
    """The next part of a raw file: valid new rows, failure lines, and whether the file ended.

    ``rows`` hold ``data_hash`` and the link fields of each valid row, ``frames`` the rest of its
    processed line (``frame_columns``), in the same order.
    """

    rows: list[dict[str, Any]]
    frames: list[Frame]
    failed: list[bytes]
    done: bool
    prepared: object = None  # ``prepare(record_type, rows)`` when the rows are to be linked


@dataclass(frozen=True)
class ReadJob:
    """Everything reading one raw file needs (picklable: it crosses to the reader process)."""

    raw_path: Path
    summary: Summary  # counts start at zero; the reading side fills them
    lineage: dict[str, Any]
    enricher: Enricher
    apify_maps_file: Path | None
    chunk_size: int
    prepare: Prepare | None = None

    def open(self) -> ChunkReader:
        """Return a reader over the file's values (the file is opened lazily, on first read)."""
        summary = self.summary
        normalizer = Normalizer(
            summary.tool, summary.source, summary.record_type, self.apify_maps_file
        )
        return ChunkReader(self, iter_values(self.raw_path, summary.record_type), normalizer)


@dataclass
class ChunkReader:
    """Reads, normalizes, checks and enriches the values of one raw file, chunk by chunk."""

    job: ReadJob
    values: Iterator[Any]
    normalizer: Normalizer
    position: int = 0
    seen: DigestSet = field(default_factory=DigestSet)  # grows with the file: ~16 bytes a record

    def __post_init__(self) -> None:
        """Look up the record type's model and output columns once."""
        self.summary = self.job.summary  # counted here, returned when the job finishes
        self.model = MODELS[self.summary.record_type]
        self.head, self.tail = frame_columns(self.summary.record_type)

    def read(self) -> Chunk:
        """Return the next chunk, with its rows prepared for linking when the job says how."""
        rows: list[dict[str, Any]] = []
        failed: list[bytes] = []
        size, done = self.job.chunk_size, True
        for value in self.values:
            row = self._one(value, self.position, failed)
            self.position += 1
            if row is not None:
                rows.append(row)
            if len(rows) + len(failed) >= size:
                done = False
                break
        prepare = self.job.prepare
        prepared = prepare(self.summary.record_type, rows) if prepare and rows else None
        head, tail = self.head, self.tail
        frames = [frame(row, head, tail) for row in rows]
        open_rows = [{name: row[name] for name in _OPEN_FIELDS} for row in rows]
        return Chunk(open_rows, frames, failed, done, prepared)

    def close(self) -> None:
        """Close the raw file (when reading stops before its end)."""
        close = getattr(self.values, "close", None)
        if close is not None:
            close()

    def _one(self, value: Any, position: int, failed: list[bytes]) -> dict[str, Any] | None:
        """Normalize, check and enrich one value; return its row (None: failed or a repeat)."""
        summary = self.summary
        summary.records_read += 1
        mapped = self.normalizer(value)
        outcome = check.validate(mapped.record, self.model)
        errors = check.with_source_errors(mapped.errors, outcome)
        if errors or isinstance(outcome, list):
            summary.count_failure(errors)
            failed.append(
                check.failure_line(summary.raw_file, position, errors, value, mapped.repairs)
            )
            return None
        row = outcome.to_row()  # its columns are picked, in order, by ``frame``
        if not check.first_in_file(row, self.seen):
            summary.duplicates_in_batch += 1
            return None
        extra = {**self.job.lineage, **_NO_LINK, "record_position": position}
        extra.update(self.job.enricher.enrich(outcome, list(mapped.repairs)))
        row.update(extra)
        summary.records_valid += 1
        if mapped.repairs:
            summary.count_repairs(mapped.repairs)
        return row
