"""Wiring of the importer: migrations, pool, bus, three consumers; nothing else.

Start-up order: settings → logging → migrations (owner role, one connection) → PostgreSQL pool
(application role) → NATS → consumers of ``records.processed``, ``commands.import_file`` and
``dlq.records.processed``. On stop the consumers stop fetching and let in-flight work finish,
then NATS drains and the pool closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable

import structlog

from services.importer import handlers, schema
from services.importer.config import ImporterSettings
from shared import bus as bus_mod
from shared import db, lifecycle, logs, schema_ready, subjects
from shared.events import BatchProcessed, ImportFile
from shared.storage import DataDir

log = structlog.get_logger(__name__)

SERVICE = handlers.SERVICE
Handler = Callable[..., Awaitable[None]]
DEAD_LETTERS = f"{subjects.DLQ_PREFIX}.{subjects.RECORDS_PROCESSED}"


async def migrate(settings: ImporterSettings) -> list[str]:
    """Apply pending migrations as the owner and grant the application role, or, connected as
    a role that may not migrate, wait until the owner has (``shared.schema_ready``)."""
    return await schema_ready.prepare_schema(
        settings,
        functools.partial(schema.migrate, app_role=settings.app_role),
        {schema.COMPONENT: schema.MIGRATIONS},
    )


async def serve(settings: ImporterSettings, stop: asyncio.Event) -> None:
    """Run the importer until ``stop`` is set: migrate, then import every batch and command."""
    applied = await migrate(settings)
    log.info("importer.schema_ready", applied=applied)
    async with contextlib.AsyncExitStack() as stack:
        pool = await stack.enter_async_context(
            db.create_pool(
                settings.database_url,
                max_size=settings.max_in_flight * 2 + 1,
                application_name=SERVICE,
                wait_s=settings.startup_wait_s,
            )
        )
        bus = await stack.enter_async_context(bus_mod.connect(settings, SERVICE))
        data_dir = data_folder(settings)
        deps = handlers.Deps(pool=pool, bus=bus, data_dir=data_dir, chunk_size=settings.chunk_size)
        routes: list[bus_mod.Route] = [
            (subjects.RECORDS_PROCESSED, BatchProcessed, handlers.handle_batch_processed),
            (subjects.COMMAND_IMPORT_FILE, ImportFile, handlers.handle_import_file),
            (DEAD_LETTERS, None, handlers.handle_dead_letter),
        ]
        limits = bus_mod.ConsumerLimits(
            settings.max_in_flight,
            settings.ack_wait_s,
            settings.max_deliver,
            settings.shutdown_grace_s,
        )
        await stack.enter_async_context(bus_mod.consuming(bus, SERVICE, routes, deps, limits))
        log.info("service.started", service=SERVICE, chunk_size=settings.chunk_size)
        await stop.wait()


def data_folder(settings: ImporterSettings) -> DataDir:
    """Return the data folder with its standard layout."""
    data_dir = DataDir(settings.data_dir)
    data_dir.ensure_layout()
    return data_dir


def main() -> int:
    """Run the importer as a process; return its exit code."""
    settings = lifecycle.load_settings(ImporterSettings, SERVICE)
    logs.configure_logging(settings.log_level)
    return lifecycle.run_service(functools.partial(serve, settings), SERVICE)
