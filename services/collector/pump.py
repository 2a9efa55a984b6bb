"""The inbox intake loop: turn notices and scans into one task per path, collected when ready.

A path is in flight at most once (repeated notices for it are absorbed). A file that has been
written and not yet closed is marked as such and must then be stable for a whole re-scan period
instead of ``COLLECTOR_STABLE_S``. Collection itself is serialised by one lock, shared with the
recovery, so two drops of the same content cannot both miss the ledger.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import nats.errors
import structlog

from services.collector.intake import RefusedFile
from services.collector.readiness import skip_reason, wait_until_stable
from services.collector.watcher import Change, Notice, list_folders
from shared.errors import ServiceError

log = structlog.get_logger(__name__)

FILE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    nats.errors.Error,
    TimeoutError,
    ServiceError,
)


@dataclass
class Pump:
    """Per-path intake tasks, the open-for-writing marks, and the collection lock."""

    folders: list[Path]
    handle: Callable[[Path], Awaitable[object]]
    stable_s: float
    writing_stable_s: float
    poll_s: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    in_flight: set[Path] = field(default_factory=set)
    writing: set[Path] = field(default_factory=set)
    warned: set[Path] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    stopping: bool = False

    def notice(self, notice: Notice) -> None:
        """Apply one file-system notice: update the writing marks, then submit the path."""
        path = notice.path
        if notice.change is Change.DELETED:
            self.writing.discard(path)
            self.warned.discard(path)
            return
        if notice.change is Change.WRITTEN:
            self.writing.add(path)
        elif notice.change is Change.CLOSED:
            self.writing.discard(path)
        self.submit(path)

    def submit(self, path: Path) -> None:
        """Start collecting ``path`` unless it is ignored or already in flight."""
        if self.stopping or path in self.in_flight or path.parent not in self.folders:
            return
        self.in_flight.add(path)
        task = asyncio.create_task(self._collect(path))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run(self, queue: asyncio.Queue[Notice]) -> None:
        """Apply notices from the watcher until cancelled."""
        while True:
            self.notice(await queue.get())

    async def scan(self) -> None:
        """Submit every entry of the inbox folders (events are missed while the service is down)."""
        entries = await asyncio.to_thread(list_folders, self.folders)
        present = set(entries)
        self.writing &= present
        self.warned &= present
        for path in entries:
            self.submit(path)

    async def close(self, grace_s: float) -> None:
        """Stop submitting, let the collection in progress finish within ``grace_s``."""
        self.stopping = True
        if not self.tasks:
            return
        _done, pending = await asyncio.wait(set(self.tasks), timeout=grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def _required_s(self, path: Path) -> Callable[[], float]:
        return lambda: self.writing_stable_s if path in self.writing else self.stable_s

    def _ignored(self, path: Path, st: os.stat_result) -> bool:
        reason = skip_reason(path, st)
        if reason is None:
            return False
        if reason == "temporary":
            log.debug("file.ignored", path=str(path), reason=reason)
        elif path not in self.warned:
            self.warned.add(path)
            log.warning("file.ignored", path=str(path), reason=reason)
        return True

    async def _collect(self, path: Path) -> None:
        try:
            st = await asyncio.to_thread(os.lstat, path)
            if self._ignored(path, st):
                return
            ready = await wait_until_stable(
                path,
                required_s=self._required_s(path),
                poll_s=self.poll_s,
                stopping=lambda: self.stopping,
            )
            if ready is None or self._ignored(path, ready):
                return
            async with self.lock:
                await self.handle(path)
        except FileNotFoundError:
            log.debug("file.gone", path=str(path))
        except RefusedFile as exc:
            if path not in self.warned:
                self.warned.add(path)
                log.warning("file.ignored", path=str(path), reason=exc.reason)
        except FILE_ERRORS as exc:
            log.warning("file.failed", path=str(path), error=repr(exc))
        except Exception:  # top of one file's task: a bug on one file must not stop the service
            log.exception("file.failed_unexpectedly", path=str(path))
        finally:
            self.in_flight.discard(path)
