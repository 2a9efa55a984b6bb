"""Wiring of the monitor: database, counters seeded from it, NATS, heartbeats, HTTP, the poller
(queue samples and alerts), then the consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools

import structlog
from pydantic import BaseModel

from services.importer import MIGRATIONS as IMPORTER_MIGRATIONS
from services.monitor import schema, store
from services.monitor.alerts.engine import AlertEngine
from services.monitor.alerts.rules import load_rules
from services.monitor.alerts.webhooks import WebhookSender, parse_targets
from services.monitor.config import MonitorSettings
from services.monitor.deps import HttpDeps
from services.monitor.handlers import Deps, handle_envelope
from services.monitor.health import Heartbeats
from services.monitor.http import serve_http
from services.monitor.metrics import PipelineMetrics
from services.monitor.poller import Poller, log_only
from shared import db, lifecycle, logs, schema_ready
from shared.bus import Bus, Consumer, connect
from shared.events import utcnow
from shared.netguard import guarded_session

log = structlog.get_logger(__name__)

SERVICE = "monitor"


async def _alert_engine(settings: MonitorSettings, stack: contextlib.AsyncExitStack) -> AlertEngine:
    """Return the alert engine of the configured rules and webhooks (fails fast when invalid)."""
    rules = load_rules(settings.alert_rules_file)
    targets = parse_targets(settings.webhook_urls)
    send = log_only
    if targets:
        session = await stack.enter_async_context(guarded_session(settings.url_policy()))
        sender = WebhookSender.from_settings(session, targets, settings)
        send = sender.send
    log.info("monitor.alerts_configured", rules=len(rules), webhooks=len(targets))
    return AlertEngine(rules, send, settings.alert_cooldown_s)


async def _start_consumer(
    bus: Bus, deps: Deps, settings: MonitorSettings, stack: contextlib.AsyncExitStack
) -> None:
    consumer: Consumer[BaseModel] = await bus.consume(
        ">",
        SERVICE,
        None,
        functools.partial(handle_envelope, deps=deps),
        max_in_flight=settings.monitor_max_in_flight,
        max_deliver=settings.monitor_max_deliver,
    )
    stack.push_async_callback(consumer.stop, settings.shutdown_grace_s)


async def serve(settings: MonitorSettings, stop: asyncio.Event) -> None:
    """Run the monitor until ``stop`` is set; close everything in reverse order."""
    started_at = utcnow()
    async with contextlib.AsyncExitStack() as stack:
        engine = await _alert_engine(settings, stack)
        # The monitor reads the importer's tables too: as a read-only role it waits for both.
        applied = await schema_ready.prepare_schema(
            settings,
            schema.migrate,
            {schema.COMPONENT: schema.MIGRATIONS, "importer": IMPORTER_MIGRATIONS},
        )
        pool = await stack.enter_async_context(
            db.create_pool(
                settings.database_url, application_name=SERVICE, wait_s=settings.startup_wait_s
            )
        )
        metrics = PipelineMetrics()
        async with pool.acquire() as conn:
            # Seed before consuming, so a restart shows the totals it showed before.
            for tally in await store.fetch_totals(conn):
                metrics.add(tally)
        log.info("monitor.seeded", migrations=applied)
        bus = await stack.enter_async_context(connect(settings, SERVICE))
        heartbeats = Heartbeats(settings.heartbeat_s)
        subscription = await heartbeats.subscribe(bus)
        stack.push_async_callback(subscription.unsubscribe)
        deps = HttpDeps(bus, pool, metrics, heartbeats, settings.data_dir)
        await stack.enter_async_context(
            serve_http(deps, settings.monitor_host, settings.monitor_port, settings.access())
        )
        poller = Poller(
            bus, pool, engine, settings.poll_s, settings.queue_sample_keep_days, started_at
        )
        await stack.enter_async_context(poller.running(stop))
        await _start_consumer(bus, Deps(pool=pool, metrics=metrics), settings, stack)
        deps.ready.set()
        log.info("service.started", service=SERVICE)
        await stop.wait()
        log.info("service.stopping", service=SERVICE)


def main() -> int:
    """Read settings, configure logging and run the monitor; return the exit code."""
    settings = lifecycle.load_settings(MonitorSettings, SERVICE)
    logs.configure_logging(settings.log_level)
    return lifecycle.run_service(functools.partial(serve, settings), SERVICE)
