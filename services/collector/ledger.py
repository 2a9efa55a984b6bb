"""The files ledger: content SHA-256 -> raw path, in the namespace's NATS key-value bucket.

A key is written only after the file's ``files.collected`` event got its PubAck, so a ledger
hit means the content is kept under ``raw/`` and announced.
"""

from __future__ import annotations

from typing import Protocol

import nats.js.errors
from nats.js.kv import KeyValue

from shared.bus import Bus


class Ledger(Protocol):
    """What the intake needs from the ledger (a fake implements it in unit tests)."""

    async def get(self, sha256: str) -> str | None:
        """Return the raw path (relative to DATA_DIR) of content, or ``None``."""
        ...

    async def put(self, sha256: str, raw_path: str) -> None:
        """Record that content is kept at ``raw_path``."""
        ...


class KvLedger:
    """The ledger on a JetStream key-value bucket."""

    def __init__(self, kv: KeyValue) -> None:
        """Wrap an opened bucket; use ``open()`` instead of calling this."""
        self.kv = kv

    @classmethod
    async def open(cls, bus: Bus) -> KvLedger:
        """Open the namespace's files bucket, creating it when it does not exist yet."""
        return cls(await bus.open_bucket(bus.names.files_bucket))

    async def get(self, sha256: str) -> str | None:
        """Return the raw path of content, or ``None`` when unknown (or deleted)."""
        try:
            entry = await self.kv.get(sha256)
        except nats.js.errors.KeyNotFoundError:
            return None
        return entry.value.decode() if entry.value else None

    async def put(self, sha256: str, raw_path: str) -> None:
        """Record that content is kept at ``raw_path`` (last write wins)."""
        await self.kv.put(sha256, raw_path.encode())
