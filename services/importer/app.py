"""Wiring of the importer: pool, migrations, bus, consumer; nothing else.

Start-up order: settings → logging → PostgreSQL pool → migrations → NATS → consumer. On stop the
consumer stops fetching and lets in-flight batches finish, then NATS drains and the pool closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools

import structlog

from services.importer import handlers, schema
from services.importer.config import ImporterSettings
from shared import bus as bus_mod
from shared import db, lifecycle, logs, subjects
from shared.events import BatchProcessed
from shared.storage import DataDir

log = structlog.get_logger(__name__)

SERVICE = "importer"


async def serve(settings: ImporterSettings, stop: asyncio.Event) -> None:
    """Run the importer until ``stop`` is set: migrate, then import every processed batch."""
    async with contextlib.AsyncExitStack() as stack:
        pool = await stack.enter_async_context(
            db.create_pool(settings.database_url, max_size=settings.max_in_flight + 1)
        )
        async with pool.acquire() as conn:
            applied = await schema.migrate(conn)
        log.info("importer.schema_ready", applied=applied)
        bus = await stack.enter_async_context(bus_mod.connect(settings, SERVICE))
        data_dir = DataDir(settings.data_dir)
        data_dir.ensure_layout()
        deps = handlers.Deps(pool=pool, bus=bus, data_dir=data_dir, chunk_size=settings.chunk_size)
        consumer = await bus.consume(
            subjects.RECORDS_PROCESSED,
            SERVICE,
            BatchProcessed,
            functools.partial(handlers.handle_batch_processed, deps=deps),
            max_in_flight=settings.max_in_flight,
            ack_wait_s=settings.ack_wait_s,
            max_deliver=settings.max_deliver,
        )
        log.info("service.started", service=SERVICE, chunk_size=settings.chunk_size)
        try:
            await stop.wait()
        finally:
            await consumer.stop(grace_s=settings.shutdown_grace_s)


def main() -> int:
    """Run the importer as a process; return its exit code."""
    settings = lifecycle.load_settings(ImporterSettings, SERVICE)
    logs.configure_logging(settings.log_level)
    return lifecycle.run_service(functools.partial(serve, settings), SERVICE)
