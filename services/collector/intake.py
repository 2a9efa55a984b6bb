"""Collect one ready inbox file: dedupe by content, move it to ``raw/``, record it, announce it.

The steps run in an order that a crash at any point can resume from (see ``recovery``):
move -> ``meta.json`` entry (``event_published: false``) -> publish ``FileCollected``
(deterministic ``event_id``, so JetStream drops a repeat) -> ledger put -> mark published.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog

from services.collector import meta
from services.collector.ledger import Ledger
from shared.errors import BadInputError
from shared.events import Event, FileCollected, RecordType, derived_id, utcnow
from shared.faults import crash_point
from shared.storage import DataDir, move_no_clobber, sha256_file

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class IntakeDeps:
    """What collecting a file needs: the data folder, the ledger, a publisher and a clock."""

    data: DataDir
    ledger: Ledger
    publish: Callable[[Event], Awaitable[None]]
    clock: Callable[[], datetime] = utcnow


def record_type_of(path: Path, data: DataDir) -> RecordType:
    """Return the record type of an inbox file from the inbox folder it lies in.

    Raises:
        BadInputError: the file is not directly inside one of the inbox folders.
    """
    for record_type in RecordType:
        if path.parent == data.inbox(record_type):
            return record_type
    msg = f"{path} is not directly inside an inbox folder"
    raise BadInputError(msg)


def _digest(path: Path) -> tuple[str, int]:
    sha256 = sha256_file(path)
    return sha256, path.stat().st_size


def _is_file(path: Path) -> bool:
    return path.is_file()


async def handle_inbox_file(path: Path, deps: IntakeDeps) -> Path | None:
    """Collect a complete inbox file; return its raw path, or ``None`` for a duplicate drop.

    A duplicate (content already kept under ``raw/``) is recorded in today's ``meta.json`` with
    ``duplicate_of`` and removed from the inbox.

    Raises:
        OSError: the file cannot be read or moved (it stays in the inbox).
        nats.errors.Error: publishing failed; the entry stays unpublished for the recovery.
    """
    data = deps.data
    record_type = record_type_of(path, data)
    now = deps.clock()
    folder = data.raw(now.date(), record_type)
    sha256, size = await asyncio.to_thread(_digest, path)
    known = await deps.ledger.get(sha256)
    if known is not None and await asyncio.to_thread(_is_file, data.root / known):
        duplicate: meta.Entry = {
            "file": None,
            "original_name": path.name,
            "sha256": sha256,
            "duplicate_of": known,
            "collected_at": now.isoformat(),
        }
        await asyncio.to_thread(meta.append_entry, folder, duplicate)
        await asyncio.to_thread(path.unlink)
        log.info("file.duplicate", original_name=path.name, sha256=sha256, duplicate_of=known)
        return None
    target = await asyncio.to_thread(move_no_clobber, path, folder, meta.drop_name)
    crash_point("collector.before_meta")
    entry: meta.Entry = {
        "file": target.name,
        "original_name": path.name,
        "sha256": sha256,
        "size_bytes": size,
        "source": meta.DROP_TOOL,
        "tool": meta.DROP_TOOL,
        "record_type": record_type.value,
        "collected_at": now.isoformat(),
        "event_published": False,
    }
    await asyncio.to_thread(meta.append_entry, folder, entry)
    crash_point("collector.before_publish")
    await announce(folder, entry, deps)
    log.info(
        "file.collected",
        original_name=path.name,
        path=data.relative(target),
        sha256=sha256,
        size_bytes=size,
        record_type=record_type.value,
    )
    return target


async def announce(folder: Path, entry: meta.Entry, deps: IntakeDeps) -> None:
    """Publish ``FileCollected`` for a meta entry, record it in the ledger, mark it published.

    Idempotent: the event id derives from the content hash, so a repeat within JetStream's
    duplicate window is dropped, and the ledger put and the mark are plain overwrites.
    """
    file_name = str(entry["file"])
    relative = deps.data.relative(folder / file_name)
    sha256 = str(entry["sha256"])
    event = FileCollected(
        event_id=derived_id("collected", sha256),
        path=relative,
        sha256=sha256,
        size_bytes=int(entry["size_bytes"]),
        record_type=RecordType(entry.get("record_type") or folder.name),
        source=str(entry.get("source") or meta.DROP_TOOL),
        tool=str(entry.get("tool") or meta.DROP_TOOL),
        original_name=entry.get("original_name"),
        record_count=entry.get("record_count"),
    )
    await deps.publish(event)
    crash_point("collector.after_publish")
    await deps.ledger.put(sha256, relative)
    await asyncio.to_thread(meta.mark_published, folder, file_name)
