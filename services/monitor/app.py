"""Wiring of the monitor: database, counters seeded from it, NATS, HTTP, then the consumer."""

from __future__ import annotations

import asyncio
import contextlib
import functools

import structlog
from pydantic import BaseModel

from services.monitor import schema, store
from services.monitor.config import MonitorSettings
from services.monitor.handlers import Deps, handle_envelope
from services.monitor.http import HttpDeps, serve_http
from services.monitor.metrics import PipelineMetrics
from shared import db, lifecycle, logs
from shared.bus import Consumer, connect

log = structlog.get_logger(__name__)

SERVICE = "monitor"


async def serve(settings: MonitorSettings, stop: asyncio.Event) -> None:
    """Run the monitor until ``stop`` is set; close everything in reverse order."""
    async with contextlib.AsyncExitStack() as stack:
        pool = await stack.enter_async_context(db.create_pool(settings.database_url))
        metrics = PipelineMetrics()
        async with pool.acquire() as conn:
            applied = await schema.migrate(conn)
            # Seed before consuming, so a restart shows the totals it showed before.
            for tally in await store.fetch_totals(conn):
                metrics.add(tally)
        log.info("monitor.seeded", migrations=applied)
        bus = await stack.enter_async_context(connect(settings, SERVICE))
        await stack.enter_async_context(
            serve_http(
                HttpDeps(bus=bus, pool=pool, metrics=metrics),
                settings.monitor_host,
                settings.monitor_port,
            )
        )
        consumer: Consumer[BaseModel] = await bus.consume(
            ">",
            SERVICE,
            None,
            functools.partial(handle_envelope, deps=Deps(pool=pool, metrics=metrics)),
            max_in_flight=settings.monitor_max_in_flight,
            max_deliver=settings.monitor_max_deliver,
        )
        stack.push_async_callback(consumer.stop, settings.shutdown_grace_s)
        log.info("service.started", service=SERVICE)
        await stop.wait()
        log.info("service.stopping", service=SERVICE)


def main() -> int:
    """Read settings, configure logging and run the monitor; return the exit code."""
    settings = lifecycle.load_settings(MonitorSettings, SERVICE)
    logs.configure_logging(settings.log_level)
    return lifecycle.run_service(functools.partial(serve, settings), SERVICE)
