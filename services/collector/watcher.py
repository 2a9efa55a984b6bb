"""The watchdog bridge: inbox file-system events from the observer thread into an asyncio.Queue.

The observer thread touches the event loop only through
``loop.call_soon_threadsafe(queue.put_nowait, notice)``. Everything else (filtering, the
stability check, reading) happens on the loop side.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver


class Change(enum.Enum):
    """What happened to an inbox path."""

    CREATED = "created"  # may still be open for writing (or moved in from an unwatched folder)
    WRITTEN = "written"  # data was written: open for writing until CLOSED
    CLOSED = "closed"  # closed after writing, or moved into place: a complete candidate
    DELETED = "deleted"


@dataclass(frozen=True)
class Notice:
    """One file-system event on an inbox path."""

    path: Path
    change: Change


def _as_path(value: str | bytes) -> Path:
    return Path(value.decode() if isinstance(value, bytes) else value)


class QueueBridge(FileSystemEventHandler):
    """A watchdog handler (runs on the observer thread) that forwards file events to a queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Notice]) -> None:
        """Forward to ``queue`` on ``loop``."""
        self._loop = loop
        self._queue = queue

    def _forward(self, path: Path, change: Change) -> None:
        self._loop.call_soon_threadsafe(self._queue.put_nowait, Notice(path, change))

    def on_closed(self, event: FileClosedEvent) -> None:
        """Forward a file closed after writing."""
        self._forward(_as_path(event.src_path), Change.CLOSED)

    def on_moved(self, event: FileSystemEvent) -> None:
        """Forward a file renamed inside the inbox: gone at its old name, complete at the new."""
        if event.is_directory:
            return
        self._forward(_as_path(event.src_path), Change.DELETED)
        self._forward(_as_path(event.dest_path), Change.CLOSED)

    def on_created(self, event: FileSystemEvent) -> None:
        """Forward a new file (a move-in from outside the watch shows up as this)."""
        if not event.is_directory:
            self._forward(_as_path(event.src_path), Change.CREATED)

    def on_modified(self, event: FileSystemEvent) -> None:
        """Forward a write to a file."""
        if not event.is_directory:
            self._forward(_as_path(event.src_path), Change.WRITTEN)

    def on_deleted(self, event: FileSystemEvent) -> None:
        """Forward a removed file."""
        if not event.is_directory:
            self._forward(_as_path(event.src_path), Change.DELETED)


EVENT_FILTER = [
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
]


def start_observer(folders: Iterable[Path], queue: asyncio.Queue[Notice]) -> BaseObserver:
    """Start a watchdog observer on ``folders`` (not recursive) feeding ``queue``.

    Must be called from the event loop that consumes ``queue``.
    """
    bridge = QueueBridge(asyncio.get_running_loop(), queue)
    observer = Observer()
    for folder in folders:
        observer.schedule(bridge, str(folder), recursive=False, event_filter=EVENT_FILTER)
    observer.start()
    return observer


async def stop_observer(observer: BaseObserver) -> None:
    """Stop the observer and wait for its thread without blocking the loop."""
    observer.stop()
    await asyncio.to_thread(observer.join)


def list_folders(folders: Iterable[Path]) -> list[Path]:
    """Return every entry of ``folders`` (the start-up and periodic re-scan), sorted by name."""
    return sorted(entry for folder in folders if folder.is_dir() for entry in folder.iterdir())
