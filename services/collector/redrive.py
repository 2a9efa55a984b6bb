"""Commands over a date: process it (``ProcessFile`` per raw file), import it (``ImportFile``
per processed file), and the scheduled re-drives of work that did not finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import structlog

from services.collector import archive
from services.collector.meta import META_NAME
from shared.events import Event, ImportFile, ProcessFile, RecordType
from shared.storage import DataDir, is_temporary

log = structlog.get_logger(__name__)

Publish = Callable[[Event], Awaitable[None]]


def raw_files(data: DataDir, day: date) -> list[tuple[Path, RecordType]]:
    """Return the raw files of a day with their record types (``meta.json`` excluded)."""
    found = []
    for record_type in RecordType:
        folder = data.raw(day, record_type)
        if folder.is_dir():
            for path in sorted(folder.glob("*.json")):
                if path.name != META_NAME and not is_temporary(path) and path.is_file():
                    found.append((path, record_type))
    return found


def processed_files(data: DataDir, day: date) -> list[tuple[Path, RecordType]]:
    """Return ``processed/DATE/{type}/*.jsonl`` with their record types."""
    found: list[tuple[Path, RecordType]] = []
    for record_type in RecordType:
        folder = data.processed(day, record_type)
        if folder.is_dir():
            found.extend(
                (p, record_type) for p in sorted(folder.glob("*.jsonl")) if not is_temporary(p)
            )
    return found


def unprocessed(data: DataDir, day: date) -> list[tuple[Path, RecordType]]:
    """Return raw files of a day with neither a processed output nor a file error."""
    result = []
    for path, record_type in raw_files(data, day):
        stem = path.stem
        done = data.processed(day, record_type) / f"{stem}.jsonl"
        if not done.exists() and not data.file_errors_of(day, record_type, stem):
            result.append((path, record_type))
    return result


async def _ensure_day(data: DataDir, day: date) -> bool:
    """Restore an archived day whose folders are gone; return True if restored."""
    if data.raw(day, RecordType.VEHICLES).parent.is_dir():
        return False
    return await asyncio.to_thread(archive.restore_day, data, day)


async def process_date(data: DataDir, publish: Publish, day: date) -> list[str]:
    """Publish ``ProcessFile`` for every raw file of ``day``; return their relative paths."""
    await _ensure_day(data, day)
    files = await asyncio.to_thread(raw_files, data, day)
    return await _publish_process(data, publish, files)


async def _publish_process(
    data: DataDir, publish: Publish, files: list[tuple[Path, RecordType]]
) -> list[str]:
    paths = []
    for path, record_type in files:
        relative = data.relative(path)
        await publish(ProcessFile(path=relative, record_type=record_type))
        paths.append(relative)
    return paths


async def import_date(data: DataDir, publish: Publish, day: date) -> list[str]:
    """Publish ``ImportFile`` for every processed file of ``day``; return their relative paths."""
    await _ensure_day(data, day)
    files = await asyncio.to_thread(processed_files, data, day)
    paths = []
    for path, record_type in files:
        relative = data.relative(path)
        await publish(ImportFile(path=relative, record_type=record_type))
        paths.append(relative)
    return paths


async def redrive_processing(data: DataDir, publish: Publish, days: list[date]) -> list[str]:
    """Publish ``ProcessFile`` for raw files of ``days`` that have no outcome yet."""
    paths = []
    for day in days:
        files = await asyncio.to_thread(unprocessed, data, day)
        paths.extend(await _publish_process(data, publish, files))
    if paths:
        log.info("redrive.processing", files=len(paths))
    return paths


async def redrive_import(data: DataDir, publish: Publish, days: list[date]) -> list[str]:
    """Publish ``ImportFile`` for the processed files of ``days`` (the importer is idempotent)."""
    paths = []
    for day in days:
        paths.extend(await import_date(data, publish, day))
    return paths
