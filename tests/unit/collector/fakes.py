"""In-memory stand-ins for the collector's seams: the ledger and the publisher."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from services.collector.intake import IntakeDeps
from shared.events import Event
from shared.storage import DataDir

NOON = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)


@dataclass
class FakeLedger:
    """A dict-backed ledger."""

    entries: dict[str, str] = field(default_factory=dict)

    async def get(self, sha256: str) -> str | None:
        """Return the recorded raw path."""
        return self.entries.get(sha256)

    async def put(self, sha256: str, raw_path: str) -> None:
        """Record a raw path."""
        self.entries[sha256] = raw_path


@dataclass
class FakePublisher:
    """Records published events; can be told to fail."""

    events: list[Event] = field(default_factory=list)
    error: Exception | None = None

    async def __call__(self, event: Event) -> None:
        """Record (or refuse) one event."""
        if self.error is not None:
            raise self.error
        self.events.append(event)


def make_deps(root: Path, publisher: FakePublisher | None = None) -> IntakeDeps:
    """Return intake dependencies on a fresh data folder with a fixed clock."""
    data = DataDir(root.resolve())
    data.ensure_layout()
    return IntakeDeps(
        data=data,
        ledger=FakeLedger(),
        publish=publisher or FakePublisher(),
        clock=lambda: NOON,
    )
