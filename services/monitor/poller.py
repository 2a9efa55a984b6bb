"""The monitor's periodic work: sample JetStream lag into PostgreSQL, then evaluate the alerts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import structlog

from services.monitor import queues
from services.monitor.alerts.checks import Context
from services.monitor.alerts.engine import AlertEngine
from services.monitor.alerts.webhooks import Notification
from shared.bus import Bus
from shared.events import utcnow
from shared.lifecycle import stop_on_crash
from shared.retry import TRANSIENT_DB_ERRORS

log = structlog.get_logger(__name__)


async def log_only(note: Notification) -> int:
    """Stand-in sender when no webhook is configured: the alert is only logged."""
    log.info("monitor.alert_not_sent", reason="no MONITOR_WEBHOOK_URLS", rule=note.rule)
    return 1


@dataclass
class Poller:
    """Samples queues and evaluates alert rules every ``every_s``."""

    bus: Bus
    pool: asyncpg.Pool
    engine: AlertEngine
    every_s: float
    keep_days: int
    started_at: datetime

    async def tick(self) -> list[Notification]:
        """Do one round now; return the notifications it sent."""
        now = utcnow()
        snap = await queues.snapshot(self.bus)
        async with self.pool.acquire() as conn:
            await queues.record(conn, snap, now, self.keep_days)
            return await self.engine.evaluate(conn, Context(now=now, started_at=self.started_at))

    async def run(self) -> None:
        """Tick forever; a failed round is logged and the next one runs on time."""
        while True:
            try:
                await self.tick()
            except (*TRANSIENT_DB_ERRORS, asyncpg.PostgresError) as exc:
                log.warning("monitor.poll_failed", error=repr(exc))
            await asyncio.sleep(self.every_s)

    @contextlib.asynccontextmanager
    async def running(self, stop: asyncio.Event | None = None) -> AsyncIterator[Poller]:
        """Run in the background until exit; a crash of the loop is logged and sets ``stop``.

        The loop's error is raised again on exit, so the service ends as crashed (exit 1)
        instead of serving on without sampling queues or evaluating alerts.
        """
        task = asyncio.create_task(self.run())
        if stop is not None:
            stop_on_crash(task, stop, "poller")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
