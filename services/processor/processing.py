"""Process one raw file: its chunks through the stages (``stages``), then its outputs and report.

Each chunk goes, in order:

- read, normalize, check, enrich (offline) on the reading side (``chunks.ChunkReader``, in a
  reader process or a worker thread: ``reader_process``), which also prepares linking's keys
  and frames each row's line;
- link, enrich (online) on the async side (``ChunkStages``), while the next chunk is read;
- write (``stages.write``), in a worker thread and in order, while the next chunk is linked.

``process_file_async`` runs them so; ``process_file`` is the same without linking (no
database), in the caller's thread. Output names derive from the raw file only, so processing the
same file again rewrites the same files (idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from shared import PIPELINE_VERSION
from shared.events import RecordType, utcnow
from shared.storage import DataDir, day_of, write_json_atomic

from .chunks import CHUNK_SIZE, Chunk, Prepare, ReadJob
from .grading import DEFAULT_GRADE_RULES, GradeRule
from .reader_process import InThread, Reading
from .sources import tool_of
from .stages.enrich import Enricher
from .stages.read import UnreadableFileError
from .stages.write import BatchWriter, write_chunk
from .summary import Summary, update_report

if TYPE_CHECKING:  # the service's side only: the stages that need PostgreSQL and HTTP clients
    from .stages.enrich import OnlineEnrichment
    from .stages.link import ChunkLinker

PROCESSING_VERSION = 3
"""Bump when the processed output of a file changes; it is part of every batch id."""


class ChunkCounts(NamedTuple):
    """What linking and the online enrichments of one chunk counted."""

    known: int
    near: int
    geocode_failures: int = 0


class LinkChunk(Protocol):
    """Links a chunk of rows against the known index and enriches them online (``ChunkStages``)."""

    @property
    def prepare(self) -> Prepare:
        """Return what computes linking's keys where the chunk is read (picklable, no I/O)."""

    async def __call__(
        self, record_type: RecordType, rows: list[dict[str, Any]], prepared: object
    ) -> ChunkCounts:
        """Fill the rows' link fields and enrich them; return the duplicates and failed lookups."""


@dataclass(frozen=True)
class ChunkStages:
    """The async side's stages of a chunk: link its rows, then enrich them online."""

    link: ChunkLinker
    enrich: OnlineEnrichment | None = None  # None: no online enrichment

    @property
    def prepare(self) -> Prepare:
        """Return what computes linking's keys where the chunk is read."""
        return self.link.prepare

    async def __call__(
        self, record_type: RecordType, rows: list[dict[str, Any]], prepared: object = None
    ) -> ChunkCounts:
        """Link and enrich the rows in place; return the chunk's duplicates and failed lookups."""
        stats = await self.link(record_type, rows, prepared)
        failures = 0 if self.enrich is None else await self.enrich(rows)
        return ChunkCounts(stats.known, stats.near, failures)


__all__ = ["CHUNK_SIZE", "Options", "OutputPaths", "Summary", "process_file", "process_file_async"]


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
    def for_raw(
        cls,
        data_dir: DataDir,
        raw_path: Path,
        record_type: RecordType,
        original_name: str | None = None,
    ) -> OutputPaths:
        """Return the deterministic output paths of ``raw/DATE/{type}/{stem}.json``.

        A rejected file's record is named with the name it was dropped under, if any.
        """
        day, stem, kind = day_of(raw_path), raw_path.stem, record_type.value
        processed = data_dir.processed(day, record_type) / f"{stem}.jsonl"
        return cls(
            processed=processed,
            failed=data_dir.failed(day, "validation_errors") / kind / f"{stem}.jsonl",
            file_error=data_dir.file_error(day, record_type, stem, original_name),
            report=processed.parent.parent / "processing_report.json",
        )


@dataclass(frozen=True)
class Options:
    """How files are processed: enrichment, mapping configuration and chunk size."""

    enricher: Enricher = field(default_factory=Enricher)
    apify_maps_file: Path | None = None
    chunk_size: int = CHUNK_SIZE


class _Run:
    """One processing of one raw file: its summary, outputs and chunk reader."""

    def __init__(
        self, raw_path: Path, record_type: RecordType, data_dir: DataDir, meta: dict[str, Any]
    ) -> None:
        self.started = time.monotonic()
        self.data_dir = data_dir
        self.raw_path = raw_path
        original_name = meta.get("original_name")
        self.paths = OutputPaths.for_raw(data_dir, raw_path, record_type, original_name)
        tool = tool_of(raw_path.name)
        self.summary = Summary(
            raw_file=data_dir.relative(raw_path),
            record_type=record_type,
            batch_id=meta["batch_id"],
            source=meta.get("source") or tool,
            tool=tool,
            original_name=original_name,
        )
        self.processed_at = (meta.get("now") or utcnow()).isoformat()

    def job(self, options: Options, prepare: Prepare | None = None) -> ReadJob:
        summary = self.summary
        lineage = {
            "raw_file": summary.raw_file,
            "batch_id": summary.batch_id,
            "processed_at": self.processed_at,
            "pipeline_version": PIPELINE_VERSION,
        }
        return ReadJob(
            self.raw_path, summary, lineage, options.enricher, options.apify_maps_file,
            options.chunk_size, prepare,
        )  # fmt: skip

    def finish(self, error: UnreadableFileError | None) -> Summary:
        summary, paths = self.summary, self.paths
        stale = self.data_dir.file_errors_of(
            day_of(self.raw_path), summary.record_type, self.raw_path.stem
        )  # records of an earlier rejection (named otherwise, or now read)
        if error is not None:
            _reject(summary, paths, self.data_dir, error, self.processed_at)
        else:
            summary.processed_path = self.data_dir.relative(paths.processed)
            if summary.records_invalid:
                summary.failed_path = self.data_dir.relative(paths.failed)
        for path in stale:
            if path != paths.file_error or error is None:
                path.unlink(missing_ok=True)
        summary.duration_s = round(time.monotonic() - self.started, 6)
        update_report(paths.report, summary)
        return summary


def process_file(
    raw_path: Path,
    record_type: RecordType,
    data_dir: DataDir,
    *,
    batch_id: str,
    rules: Sequence[GradeRule] = DEFAULT_GRADE_RULES,
    now: datetime | None = None,
    source: str | None = None,
    original_name: str | None = None,
    options: Options | None = None,
) -> Summary:
    """Process one raw file without linking (no database): outputs, failures, report.

    A file that cannot be parsed leaves no processed output: it gets a ``file_errors`` entry and
    a summary with ``rejected_reason``; the raw file stays where it is.
    """
    options = options or Options(enricher=Enricher(rules=rules))
    meta = {"batch_id": batch_id, "now": now, "source": source, "original_name": original_name}
    run = _Run(raw_path, record_type, data_dir, meta)
    try:
        with BatchWriter(run.paths.processed, run.paths.failed) as writer:
            reader = run.job(options).open()
            done = False
            while not done:
                chunk = reader.read()  # read, normalize, check, enrich
                write_chunk(writer, chunk)  # write
                done = chunk.done
    except UnreadableFileError as exc:
        return run.finish(exc)
    return run.finish(None)


async def process_file_async(
    raw_path: Path,
    record_type: RecordType,
    data_dir: DataDir,
    link: LinkChunk,
    *,
    meta: dict[str, Any],
    options: Options,
    reading: Reading | None = None,
) -> Summary:
    """Process one raw file, linking each chunk with ``link`` while the next one is read.

    ``meta`` holds ``batch_id`` and optionally ``source``, ``original_name`` and ``now``.
    ``reading`` reads the chunks (a ``reader_process.ReaderProcess``; by default a worker thread of
    this process).
    """
    run = _Run(raw_path, record_type, data_dir, meta)
    reading = reading or InThread()
    error: UnreadableFileError | None = None
    writer = BatchWriter(run.paths.processed, run.paths.failed)
    await asyncio.to_thread(writer.__enter__)
    counts = ChunkCounts(0, 0, 0)
    writing: asyncio.Future[None] | None = None  # the previous chunk, written while this links
    try:
        await reading.start(run.job(options, link.prepare))
        chunk: Chunk | None = await reading.next()  # read, normalize, check, enrich
        while chunk is not None:
            # The next chunk is read while this one is linked: its CPU work runs while the
            # linking waits for PostgreSQL.
            upcoming = None if chunk.done else asyncio.ensure_future(reading.next())
            try:
                if chunk.rows:  # link, enrich online
                    found = ChunkCounts(*await link(record_type, chunk.rows, chunk.prepared))
                    counts = ChunkCounts(*(a + b for a, b in zip(counts, found, strict=True)))
            finally:
                following = await upcoming if upcoming is not None else None
            if writing is not None:
                await writing  # write: chunks are written in order, one at a time
            writing = asyncio.ensure_future(asyncio.to_thread(write_chunk, writer, chunk))
            chunk = following
        if writing is not None:
            await writing
        run.summary = await reading.finish()
        run.summary.known_duplicates += counts.known
        run.summary.near_duplicates += counts.near
        run.summary.geocode_failures += counts.geocode_failures
    except UnreadableFileError as exc:
        error = exc
        await _settled(writing)
        await asyncio.to_thread(writer.__exit__, type(exc), exc, exc.__traceback__)
    except BaseException as exc:
        await _settled(writing)
        await asyncio.to_thread(writer.__exit__, type(exc), exc, exc.__traceback__)
        raise
    else:
        await asyncio.to_thread(writer.__exit__, None, None, None)
    return await asyncio.to_thread(run.finish, error)


async def _settled(writing: asyncio.Future[None] | None) -> None:
    """Wait for a chunk write still running before the outputs are discarded (it may fail too)."""
    if writing is not None:
        with contextlib.suppress(BaseException):  # the error being handled is the one to raise
            await writing


def _reject(
    summary: Summary,
    paths: OutputPaths,
    data_dir: DataDir,
    exc: UnreadableFileError,
    detected_at: str,
) -> None:
    summary.records_valid = summary.records_invalid = summary.duplicates_in_batch = 0
    summary.known_duplicates = summary.near_duplicates = summary.records_repaired = 0
    summary.errors_by_reason = {}
    summary.errors_by_kind = {}
    summary.repairs_by_rule = {}
    summary.rejected_reason = exc.reason
    summary.error_file = data_dir.relative(paths.file_error)
    write_json_atomic(
        paths.file_error,
        {
            "raw_file": summary.raw_file,
            "original_name": summary.original_name,
            "record_type": summary.record_type.value,
            "batch_id": summary.batch_id,
            "reason": exc.reason,
            "position": exc.position(),
            "detected_at": detected_at,
        },
    )
