"""Keep the evidence index fast to probe: vacuum it as it grows.

A probe is an index-only scan only where the table's visibility map marks a heap page
all-visible. Pages written since the last VACUUM make each probe that lands on them read the
heap too, and the planner then prefers bitmap scans: a chunk's probes late in the 200,000-listing
end-to-end benchmark took 16.6 ms so, 8.8 ms on a vacuumed table. Autovacuum does this on its
own schedule (and not at all where it is turned off, as on the CI machine), so the processor
vacuums the table itself after every ``VACUUM_EVERY`` new listings: in the background, on its
own pooled connection, one processor at a time (a try-lock: the others skip their turn).

VACUUM needs the table's owner: with a separate migration role (``MIGRATION_DATABASE_URL``) the
server skips it with a warning, and autovacuum is what keeps the map current.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog

log = structlog.get_logger(__name__)

VACUUM_EVERY = 20_000  # new listings (about 140,000 evidence rows) between two vacuums
VACUUM_LOCK_KEY = 0x5049_5643  # one processor vacuums at a time


class EvidenceUpkeep:
    """Counts the listings added to the evidence index and vacuums it every ``every`` of them."""

    def __init__(self, pool: asyncpg.Pool, every: int = VACUUM_EVERY) -> None:
        """Vacuum through ``pool`` after every ``every`` new listings (0: never)."""
        self.pool = pool
        self.every = every
        self.vacuums = 0
        self._since = 0
        self._task: asyncio.Task[None] | None = None

    def added(self, listings: int) -> None:
        """Count new listings; start a vacuum in the background when it is due and none runs."""
        self._since += listings
        if not self.every or self._since < self.every:
            return
        if self._task is None or self._task.done():
            self._since = 0
            self._task = asyncio.create_task(self._vacuum(), name="evidence-vacuum")

    async def wait(self) -> None:
        """Wait for a vacuum in progress (tests; shutdown)."""
        if self._task is not None:
            await self._task

    async def close(self) -> None:
        """Stop a vacuum in progress (the server rolls it back; the next one starts over)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _vacuum(self) -> None:
        try:
            async with self.pool.acquire() as conn:
                if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", VACUUM_LOCK_KEY):
                    return  # another processor is vacuuming
                try:
                    await conn.execute("VACUUM processor_vehicle_evidence")
                    self.vacuums += 1
                finally:
                    await conn.execute("SELECT pg_advisory_unlock($1)", VACUUM_LOCK_KEY)
        except (asyncpg.PostgresError, OSError) as exc:  # upkeep: never fails a chunk
            log.warning("evidence.vacuum_failed", error=repr(exc))
