"""Collect one ready inbox file: dedupe by content, move it to ``raw/``, record it, announce it.

Anyone who can write the inbox is untrusted: the file is opened without following a symbolic
link, checked on the open descriptor (a regular file with no other hard link), hashed from that
descriptor, and moved only if the name still is that file (device and inode), so a swap after
the check cannot bring another file into ``raw/``. A refused file stays in the inbox
(``file.ignored`` with its reason, logged once).

The steps run in an order that a crash at any point can resume from (see ``recovery``):
move -> ``meta.json`` entry (``event_published: false``) -> publish ``FileCollected``
(deterministic ``event_id``, so JetStream drops a repeat) -> ledger put -> mark published.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

import structlog

from services.collector import meta
from services.collector.ledger import Ledger
from shared.errors import BadInputError
from shared.events import Event, FileCollected, RecordType, derived_id, utcnow
from shared.faults import crash_point
from shared.storage import DataDir, move_no_clobber

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


STRAY_REASON = "outside the record-type folders (inbox/vehicles, inbox/events, inbox/articles)"


@dataclass
class Strays:
    """Entries of ``inbox/`` itself beside the record-type folders (a file dropped one level too
    high, a folder of a type the pipeline does not know): never collected, each reported once
    as ``file.ignored`` so whoever dropped it can see why nothing happened."""

    data: DataDir
    reported: set[Path] = field(default_factory=set)

    def report(self) -> list[Path]:
        """Log the entries not reported yet; return them (blocking: run it in a thread)."""
        known = {self.data.inbox(record_type) for record_type in RecordType}
        try:
            present = {path for path in (self.data.root / "inbox").iterdir() if path not in known}
        except OSError as exc:
            log.warning("inbox.unreadable", error=repr(exc))
            return []
        self.reported &= present  # gone and dropped again: reported again
        new = sorted(present - self.reported)
        for path in new:
            log.warning("file.ignored", path=str(path), reason=STRAY_REASON)
        self.reported |= set(new)
        return new


class RefusedFile(BadInputError):
    """An inbox entry that is not collected: ``reason`` is ``symlink``, ``not_regular``..."""

    def __init__(self, path: Path, reason: str) -> None:
        """Keep the reason (the ``file.ignored`` log line's)."""
        super().__init__(f"{path.name}: {reason}")
        self.reason = reason


_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True)
class _Checked:
    """An inbox file opened without following links, checked and hashed from that descriptor.

    The descriptor stays open until the move, so its inode cannot be freed and handed to
    another file that would then pass the identity check.
    """

    handle: IO[bytes]
    sha256: str
    size: int
    st: os.stat_result


def _open_checked(path: Path) -> _Checked:
    """Open the regular file at ``path`` and hash it from the open descriptor (left open).

    Raises:
        RefusedFile: ``path`` is a symbolic link or not a regular file.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RefusedFile(path, "symlink") from None
        raise
    handle = os.fdopen(fd, "rb")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise RefusedFile(path, "not_regular")
        digest, size = hashlib.sha256(), 0
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    except BaseException:
        handle.close()
        raise
    return _Checked(handle, digest.hexdigest(), size, st)


def _same_file(path: Path, st: os.stat_result) -> bool:
    try:
        other = path.lstat()
    except FileNotFoundError:
        return False
    return (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino)


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
    record_type = record_type_of(path, deps.data)
    checked = await asyncio.to_thread(_open_checked, path)
    try:
        return await _collect(path, record_type, checked, deps)
    finally:
        checked.handle.close()


async def _collect(
    path: Path, record_type: RecordType, checked: _Checked, deps: IntakeDeps
) -> Path | None:
    data, now, sha256, size, st = deps.data, deps.clock(), checked.sha256, checked.size, checked.st
    folder = data.raw(now.date(), record_type)
    known = await deps.ledger.get(sha256)
    kept = known is not None and await asyncio.to_thread(_is_file, data.root / known)
    if st.st_nlink > 1 and not (
        # a move that a crash cut short leaves the inbox name linked to its raw file: allowed
        kept and await asyncio.to_thread(_same_file, data.root / str(known), st)
    ):
        raise RefusedFile(path, "hard_link")
    if kept:
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
    identity = (st.st_dev, st.st_ino)
    target = await asyncio.to_thread(move_no_clobber, path, folder, meta.drop_name, identity)
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
