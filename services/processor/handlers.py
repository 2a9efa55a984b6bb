"""Handlers of the processor's two subjects; both process one raw file and publish the outcome.

Transport-free: a handler takes a typed event and its dependencies. It returns after the outputs
are written and the outcome event got its PubAck, so the bus acks only after the durable effect.
A path outside ``raw/`` or a missing file is a ``PermanentError`` (the bus dead-letters it); a
file that cannot be parsed is recorded and announced with ``FileRejected``, then acked.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson
import structlog

from shared.errors import BadInputError, PermanentError
from shared.events import (
    BatchProcessed,
    Event,
    FileCollected,
    FileRejected,
    ProcessFile,
    RecordType,
    derived_id,
)
from shared.faults import crash_point
from shared.storage import DataDir, sha256_file

from .grading import GradeRule
from .processing import LinkChunk, Options, Summary, make_batch_id, process_file, process_file_async
from .reader_process import ReaderProcesses
from .stages.enrich import Enricher

log = structlog.get_logger(__name__)
STAGE = "processor"


class Publisher(Protocol):
    """The part of the bus the handlers use."""

    async def publish(self, event: Event) -> None:
        """Publish an event and wait for its ack."""


@dataclass(frozen=True)
class Deps:
    """What the handlers need: the bus, the data folder, grading rules and a CPU work limit.

    With ``link`` (the service always has one), chunks are linked against the known index in
    PostgreSQL; without it (unit tests), files are processed without cross-file dedup.
    """

    bus: Publisher
    data_dir: DataDir
    rules: tuple[GradeRule, ...]
    slots: asyncio.Semaphore
    link: LinkChunk | None = None
    options: Options | None = None
    readers: ReaderProcesses | None = None  # read linked files in child processes


@dataclass(frozen=True)
class Job:
    """One request to process a raw file, from an event or a command."""

    path: str
    trigger_id: uuid.UUID
    record_type: RecordType | None = None
    sha256: str | None = None
    source: str | None = None
    original_name: str | None = None


async def handle_file_collected(event: FileCollected, deps: Deps) -> None:
    """Process a raw file the collector announced."""
    job = Job(
        path=event.path,
        trigger_id=event.event_id,
        record_type=event.record_type,
        sha256=event.sha256,
        source=event.source,
        original_name=event.original_name,
    )
    await process_job(job, deps)


async def handle_process_file(command: ProcessFile, deps: Deps) -> None:
    """Process (again) a file already under ``raw/``, as a person or a program asked."""
    job = Job(path=command.path, trigger_id=command.event_id, record_type=command.record_type)
    await process_job(job, deps)


async def process_job(job: Job, deps: Deps) -> Summary:
    """Process the job's raw file in a worker thread, then publish the outcome event.

    Raises:
        PermanentError: the path is outside ``raw/``, not in a dated type folder, or missing.
    """
    async with deps.slots:
        if deps.link is None:
            summary, source = await asyncio.to_thread(_run, job, deps)
        else:
            summary, source = await _run_linked(job, deps, deps.link)
    crash_point("processor.before_publish")
    if summary.rejected:
        await deps.bus.publish(_rejected_event(summary, job))
        log.warning("file.rejected", raw_file=summary.raw_file, reason=summary.rejected_reason)
    else:
        await deps.bus.publish(_processed_event(summary, job, source))
        log.info(
            "file.processed",
            raw_file=summary.raw_file,
            batch_id=summary.batch_id,
            records_read=summary.records_read,
            records_valid=summary.records_valid,
            records_invalid=summary.records_invalid,
            duplicates_in_batch=summary.duplicates_in_batch,
            known_duplicates=summary.known_duplicates,
            near_duplicates=summary.near_duplicates,
            geocode_failures=summary.geocode_failures,
            duration_s=summary.duration_s,
        )
    crash_point("processor.before_ack")
    return summary


def _resolve(job: Job, deps: Deps) -> tuple[Path, RecordType, dict[str, Any]]:
    """Resolve the raw file, its record type and its metadata (blocking: may hash the file)."""
    raw = deps.data_dir.resolve(job.path, under="raw")
    record_type = job.record_type or infer_record_type(deps.data_dir, raw)
    if not raw.is_file():
        msg = f"raw file {job.path!r} does not exist (or is not a file)"
        raise PermanentError(msg)
    meta = {
        "batch_id": make_batch_id(job.sha256 or sha256_file(raw)),
        "source": job.source or source_of(raw),
        "original_name": job.original_name or original_name_of(raw),
    }
    return raw, record_type, meta


def _options(deps: Deps) -> Options:
    return deps.options or Options(enricher=Enricher(rules=deps.rules))


def _run(job: Job, deps: Deps) -> tuple[Summary, str]:
    """Resolve and process the raw file without linking (blocking; runs in a worker thread)."""
    raw, record_type, meta = _resolve(job, deps)
    summary = process_file(
        raw, record_type, deps.data_dir, batch_id=meta["batch_id"], source=meta["source"],
        original_name=meta["original_name"], options=_options(deps),
    )  # fmt: skip
    return summary, meta["source"]


async def _run_linked(job: Job, deps: Deps, link: LinkChunk) -> tuple[Summary, str]:
    """Process the raw file chunk by chunk, linking each chunk against the known index."""
    raw, record_type, meta = await asyncio.to_thread(_resolve, job, deps)
    lease = contextlib.nullcontext() if deps.readers is None else deps.readers.lease()
    async with lease as reading:  # a reader process for this file, if the service has them
        summary = await process_file_async(
            raw, record_type, deps.data_dir, link, meta=meta, options=_options(deps),
            reading=reading,
        )  # fmt: skip
    return summary, meta["source"]


def infer_record_type(data_dir: DataDir, raw: Path) -> RecordType:
    """Return the record type from a path ``raw/DATE/{type}/...``.

    Raises:
        BadInputError: the path has no record type folder.
    """
    parts = raw.relative_to(data_dir.root / "raw").parts
    if len(parts) >= 3 and parts[1] in RecordType.__members__.values():
        return RecordType(parts[1])
    msg = f"cannot infer the record type of {raw.name}: expected raw/DATE/{{type}}/FILE"
    raise BadInputError(msg)


def source_of(raw: Path) -> str:
    """Return the source of a raw file: its ``meta.json`` entry, else its name before ``_``."""
    source = _meta_entry(raw).get("source")
    if source:
        return str(source)
    prefix = raw.stem.split("_", 1)[0]
    return prefix or "drop"


def original_name_of(raw: Path) -> str | None:
    """Return the name a raw file was dropped under (its ``meta.json`` entry), if known."""
    name = _meta_entry(raw).get("original_name")
    return str(name) if name else None


def _meta_entry(raw: Path) -> dict[str, Any]:
    for entry in _meta_entries(raw.parent / "meta.json"):
        if isinstance(entry, dict) and entry.get("file") == raw.name:
            return entry
    return {}


def _meta_entries(meta: Path) -> list[Any]:
    try:
        data = orjson.loads(meta.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return []
    if isinstance(data, dict):
        data = data.get("files", [])
    return data if isinstance(data, list) else []


def _processed_event(summary: Summary, job: Job, source: str) -> BatchProcessed:
    return BatchProcessed(
        event_id=derived_id("processed", summary.batch_id, str(job.trigger_id)),
        batch_id=summary.batch_id,
        record_type=summary.record_type,
        source=source,
        raw_path=summary.raw_file,
        processed_path=summary.processed_path or "",
        failed_path=summary.failed_path,
        original_name=summary.original_name,
        records_read=summary.records_read,
        records_valid=summary.records_valid,
        records_invalid=summary.records_invalid,
        duplicates_in_batch=summary.duplicates_in_batch,
        errors_by_reason=summary.errors_by_reason,
        repairs_by_rule=summary.repairs_by_rule,
        geocode_failures=summary.geocode_failures,
        duration_s=summary.duration_s,
    )


def _rejected_event(summary: Summary, job: Job) -> FileRejected:
    return FileRejected(
        event_id=derived_id("rejected", summary.batch_id, str(job.trigger_id)),
        path=summary.raw_file,
        stage=STAGE,
        reason=summary.rejected_reason or "unreadable",
        record_type=summary.record_type,
        error_file=summary.error_file,
        original_name=summary.original_name,
    )
