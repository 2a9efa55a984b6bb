"""Link a chunk's rows against the known index in PostgreSQL (the async side, over ``dedup``).

The matching keys are computed where the chunk is read (``prepare``, pure and picklable), so
that work overlaps the previous chunk's queries; linking then fills each row's link fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.events import RecordType

from ..dedup.linker import Linker, LinkStats
from ..dedup.prepare import KeyPreparer, Prepared


@dataclass(frozen=True)
class ChunkLinker:
    """Links chunks of valid rows: exact duplicates of known records, near duplicates."""

    linker: Linker

    @property
    def prepare(self) -> KeyPreparer:
        """Return what computes a chunk's matching keys and probes where it is read (no I/O)."""
        return self.linker.preparer

    async def __call__(
        self, record_type: RecordType, rows: list[dict[str, Any]], prepared: object = None
    ) -> LinkStats:
        """Fill the rows' link fields in place; return the chunk's known and near duplicates."""
        assert prepared is None or isinstance(prepared, Prepared)  # noqa: S101 - from prepare
        return await self.linker.link(record_type, rows, prepared)
