"""Wiring of the collector: bus, ledger, recovery, inbox watcher, periodic re-scan, the HTTP
session, triggers, the schedule, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import functools

import structlog

from services.collector import intake, recovery, triggers, wiring
from services.collector.config import CollectorSettings
from services.collector.ledger import KvLedger
from services.collector.operations import Operations
from services.collector.pump import FILE_ERRORS, Pump
from services.collector.ratelimit import KvRateLimiter
from services.collector.schedule import KvSlotStore, Scheduler
from services.collector.watcher import Notice, start_observer, stop_observer
from shared import bus as bus_mod
from shared.events import RecordType
from shared.lifecycle import load_settings, raise_crashes, run_service, stop_on_crash
from shared.logs import configure_logging
from shared.netguard import guarded_session
from shared.storage import DataDir

log = structlog.get_logger(__name__)

SERVICE = "collector"


async def _rescan_loop(
    pump: Pump,
    deps: intake.IntakeDeps,
    strays: intake.Strays,
    every_s: float,
    stop: asyncio.Event,
) -> None:
    """Every ``every_s``: finish unpublished raw files, re-scan the inboxes and report what lies
    outside them, until stop."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_s)
            return
        try:
            async with pump.lock:
                await recovery.republish_pending(deps)
        except FILE_ERRORS as exc:
            log.warning("recovery.failed", error=repr(exc))
        if not stop.is_set():
            await pump.scan()
            await asyncio.to_thread(strays.report)


async def _start_collection(
    settings: CollectorSettings,
    deps: intake.IntakeDeps,
    bus: bus_mod.Bus,
    stack: contextlib.AsyncExitStack,
    stop: asyncio.Event,
) -> asyncio.Task[None] | None:
    """Open the HTTP session, answer triggers, and start the schedule (when enabled)."""
    session = await stack.enter_async_context(guarded_session(settings.url_policy()))
    limiter = await KvRateLimiter.open(bus, settings.rates(), settings.burst)
    ops = Operations(
        wiring.collect_deps(settings, deps, session, limiter),
        settings.retention_days,
        settings.failed_retention_days,
    )
    subscriptions = await triggers.subscribe(bus.nc, bus.names, ops)
    stack.push_async_callback(triggers.unsubscribe, subscriptions)
    if not settings.schedule_enabled:
        return None
    scheduler = Scheduler(
        crons=settings.crons(),
        actions=ops.schedule_actions(),
        store=await KvSlotStore.open(bus),
        tz=settings.zone(),
        missed=settings.missed_slots,
    )
    return stop_on_crash(asyncio.create_task(scheduler.run(stop)), stop, "schedule")


async def serve(settings: CollectorSettings, stop: asyncio.Event) -> None:
    """Collect inbox files until ``stop``; then stop watching and finish the file in flight."""
    data = DataDir(settings.data_dir)
    await asyncio.to_thread(data.ensure_layout)
    async with contextlib.AsyncExitStack() as stack:
        bus = await stack.enter_async_context(bus_mod.connect(settings, SERVICE))
        ledger = await KvLedger.open(bus)
        deps = intake.IntakeDeps(data=data, ledger=ledger, publish=bus.publish)
        pump = Pump(
            folders=[data.inbox(record_type) for record_type in RecordType],
            handle=functools.partial(intake.handle_inbox_file, deps=deps),
            stable_s=settings.collector_stable_s,
            writing_stable_s=settings.collector_writing_stable_s,
            poll_s=settings.collector_poll_s,
        )
        strays = intake.Strays(data)
        await recovery.republish_pending(deps)
        queue: asyncio.Queue[Notice] = asyncio.Queue()
        observer = start_observer(pump.folders, queue)
        stack.push_async_callback(pump.close, settings.shutdown_grace_s)
        stack.push_async_callback(stop_observer, observer)
        reader = stop_on_crash(asyncio.create_task(pump.run(queue)), stop, "reader")
        ticker = stop_on_crash(
            asyncio.create_task(
                _rescan_loop(pump, deps, strays, settings.collector_rescan_s, stop)
            ),
            stop,
            "rescan",
        )
        schedule = await _start_collection(settings, deps, bus, stack, stop)
        try:
            await pump.scan()
            await asyncio.to_thread(strays.report)
            log.info("service.started", service=SERVICE, data_dir=str(data.root))
            await stop.wait()
        finally:
            stop.set()
            reader.cancel()
            background = {"reader": reader, "rescan": ticker}
            if schedule is not None:
                background["schedule"] = schedule
            await asyncio.gather(*background.values(), return_exceptions=True)
        raise_crashes(background)


def main() -> int:
    """Run the collector until SIGTERM or SIGINT."""
    settings = load_settings(CollectorSettings, SERVICE)
    configure_logging(settings.log_level)
    return run_service(functools.partial(serve, settings), SERVICE)
