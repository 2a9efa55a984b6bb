"""Wiring of the processor: settings, logging, the bus, two durable consumers, graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import Any

import structlog

from shared import bus as bus_mod
from shared import subjects
from shared.bus import Consumer
from shared.events import FileCollected, ProcessFile
from shared.lifecycle import load_settings, run_service
from shared.logs import configure_logging
from shared.storage import DataDir

from . import handlers
from .config import ProcessorSettings
from .grading import DEFAULT_GRADE_RULES, load_rules_file

log = structlog.get_logger(__name__)
SERVICE = "processor"


async def serve(settings: ProcessorSettings, stop: asyncio.Event) -> None:
    """Consume collected files and process-file commands until ``stop`` is set."""
    data_dir = DataDir(settings.data_dir)
    data_dir.ensure_layout()
    rules = DEFAULT_GRADE_RULES
    if settings.grading_rules_file is not None:
        rules = load_rules_file(settings.grading_rules_file)
    async with contextlib.AsyncExitStack() as stack:
        bus = await stack.enter_async_context(bus_mod.connect(settings, SERVICE))
        # One limit over both subjects: at most max_in_flight files are parsed at a time.
        deps = handlers.Deps(bus, data_dir, rules, asyncio.Semaphore(settings.max_in_flight))
        consumers: list[Consumer[Any]] = []
        stack.push_async_callback(_stop_all, consumers, settings.shutdown_grace_s)
        for subject, model, handler in (
            (subjects.FILES_COLLECTED, FileCollected, handlers.handle_file_collected),
            (subjects.COMMAND_PROCESS_FILE, ProcessFile, handlers.handle_process_file),
        ):
            consumer = await bus.consume(
                subject,
                SERVICE,
                model,
                functools.partial(handler, deps=deps),
                max_in_flight=settings.max_in_flight,
                ack_wait_s=settings.ack_wait_s,
                max_deliver=settings.max_deliver,
            )
            consumers.append(consumer)
        log.info("service.started", service=SERVICE, data_dir=str(data_dir.root))
        await stop.wait()
        log.info("service.stopping", service=SERVICE)


async def _stop_all(consumers: list[Consumer[Any]], grace_s: float) -> None:
    """Stop intake on every consumer at once and let in-flight files finish within ``grace_s``."""
    await asyncio.gather(*(consumer.stop(grace_s) for consumer in consumers))


def main() -> int:
    """Run the processor until SIGTERM or SIGINT; return the process exit code."""
    settings = load_settings(ProcessorSettings, SERVICE)
    configure_logging(settings.log_level)
    return run_service(functools.partial(serve, settings), SERVICE)
