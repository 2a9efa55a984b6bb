"""What the processor made of the raw files a scrape wrote: valid and refused records, and why.

``pipeline scrape`` listens on the namespace's processed and rejected subjects before it asks for
the scrape, so no outcome can pass unseen, then waits a bounded time for the outcome of each raw
file in the reply. A file the processor could not read counts all its records as refused, with
the reason it gave.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from nats.aio.msg import Msg
from pydantic import ValidationError

from shared import subjects
from shared.bus import Bus
from shared.events import BatchProcessed, FileRejected


@dataclass
class FileOutcome:
    """The processor's outcome of one raw file."""

    path: str
    valid: int = 0
    refused: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    failed_path: str | None = None
    rejected: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the outcome as JSON-ready data."""
        return {
            "path": self.path,
            "valid": self.valid,
            "refused": self.refused,
            "reasons": self.reasons,
            "failed_path": self.failed_path,
            "rejected": self.rejected,
        }


class Outcomes:
    """The outcomes seen on the bus since ``listening`` started, by raw path."""

    def __init__(self) -> None:
        """Start with none seen."""
        self.by_path: dict[str, FileOutcome] = {}
        self._seen = asyncio.Event()

    async def on_processed(self, msg: Msg) -> None:
        try:
            event = BatchProcessed.model_validate_json(msg.data)
        except ValidationError:
            return  # not ours to judge: the monitor and the dead letters see malformed events
        self.by_path[event.raw_path] = FileOutcome(
            path=event.raw_path,
            valid=event.records_valid,
            refused=event.records_invalid,
            reasons=dict(event.errors_by_reason),
            failed_path=event.failed_path,
        )
        self._seen.set()

    async def on_rejected(self, msg: Msg) -> None:
        try:
            event = FileRejected.model_validate_json(msg.data)
        except ValidationError:
            return
        self.by_path[event.path] = FileOutcome(
            path=event.path, rejected=event.reason, failed_path=event.error_file
        )
        self._seen.set()

    async def wait_for(self, paths: Iterable[str], timeout_s: float) -> dict[str, FileOutcome]:
        """Return the outcomes of ``paths`` seen within ``timeout_s`` (the others are missing)."""
        wanted = set(paths)
        deadline = time.monotonic() + timeout_s
        while not wanted <= self.by_path.keys():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._seen.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._seen.wait(), timeout=left)
        return {path: self.by_path[path] for path in wanted if path in self.by_path}


@contextlib.asynccontextmanager
async def listening(bus: Bus) -> AsyncIterator[Outcomes]:
    """Collect processing outcomes from now until the block ends (plain NATS subscriptions)."""
    outcomes = Outcomes()
    processed = await bus.nc.subscribe(
        bus.names.subject(subjects.RECORDS_PROCESSED), cb=outcomes.on_processed
    )
    rejected = await bus.nc.subscribe(
        bus.names.subject(subjects.FILES_REJECTED), cb=outcomes.on_rejected
    )
    try:
        yield outcomes
    finally:
        await processed.unsubscribe()
        await rejected.unsubscribe()
