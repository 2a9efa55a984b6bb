"""Handle every envelope of the namespace: store it once, then count it.

Idempotency: the row's ``event_id`` is the key (``ON CONFLICT DO NOTHING``), and the counters
move only when the row is new, so redelivery and replays count once. The insert commits before
the handler returns, and the bus acks only then.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import structlog

from services.monitor import store
from services.monitor.classify import classify
from services.monitor.metrics import PipelineMetrics, Tally
from shared.bus import Envelope

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Deps:
    """What the monitor's handler needs."""

    pool: asyncpg.Pool
    metrics: PipelineMetrics


async def handle_envelope(envelope: Envelope, deps: Deps) -> None:
    """Store an envelope in ``monitor_events`` and, if it was new, move the counters."""
    event = classify(envelope)
    async with deps.pool.acquire() as conn:
        inserted = await store.insert_event(conn, event)
    if not inserted:
        log.info("monitor.event_seen_again", event_id=str(event.event_id), stage=event.stage)
        return
    deps.metrics.add(Tally.of(event))
    log.info(
        "monitor.event_recorded",
        event_id=str(event.event_id),
        stage=event.stage,
        record_type=event.record_type,
        source=event.source,
    )
