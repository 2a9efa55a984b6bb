"""JetStream lag: each durable's pending and unacked messages, and the dead-letter depth.

Samples are stored in ``monitor_queue_samples`` so a "queue growing" alert compares against a
past that survives a restart, and old samples are pruned.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import nats.errors
import structlog

from shared.bus import Bus
from shared.subjects import DLQ_PREFIX

log = structlog.get_logger(__name__)

DEAD_LETTERS = "dead_letters"  # the pseudo-consumer under which the DLQ depth is sampled


@dataclass(frozen=True)
class ConsumerLag:
    """One durable consumer's backlog."""

    consumer: str
    pending: int
    ack_pending: int
    redelivered: int


async def consumer_lag(bus: Bus) -> list[ConsumerLag]:
    """Return the backlog of every durable consumer on the namespace's stream."""
    infos = await bus.js.consumers_info(bus.names.stream)
    return sorted(
        (
            ConsumerLag(
                consumer=info.name,
                pending=info.num_pending or 0,
                ack_pending=info.num_ack_pending or 0,
                redelivered=info.num_redelivered or 0,
            )
            for info in infos
        ),
        key=lambda lag: lag.consumer,
    )


async def dead_letter_depth(bus: Bus) -> dict[str, int]:
    """Return the dead letters held in the stream, per original (bare) subject."""
    prefix = f"{bus.names.namespace}.{DLQ_PREFIX}."
    info = await bus.js.stream_info(bus.names.stream, subjects_filter=prefix + ">")
    return {
        subject.removeprefix(prefix): count
        for subject, count in sorted((info.state.subjects or {}).items())
    }


async def snapshot(bus: Bus) -> dict[str, Any]:
    """Return consumer lag and dead-letter depth as JSON (empty when NATS is unreachable)."""
    try:
        lags = await consumer_lag(bus)
        dead = await dead_letter_depth(bus)
    except (nats.errors.Error, TimeoutError) as exc:
        log.warning("monitor.queue_snapshot_failed", error=repr(exc))
        return {"consumers": [], "dead_letters": {}, "dead_letter_depth": None}
    return {
        "consumers": [asdict(lag) for lag in lags],
        "dead_letters": dead,
        "dead_letter_depth": sum(dead.values()),
    }


async def record(
    conn: asyncpg.Connection, snap: dict[str, Any], now: datetime, keep_days: int
) -> None:
    """Store one sample per consumer (and the DLQ depth) and prune samples older than keep_days."""
    rows = [
        (now, c["consumer"], c["pending"], c["ack_pending"], c["redelivered"])
        for c in snap["consumers"]
    ]
    if snap["dead_letter_depth"] is not None:
        rows.append((now, DEAD_LETTERS, snap["dead_letter_depth"], 0, 0))
    await conn.executemany(
        "INSERT INTO monitor_queue_samples"
        " (sampled_at, consumer, pending, ack_pending, redelivered)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        rows,
    )
    await conn.execute(
        "DELETE FROM monitor_queue_samples WHERE sampled_at < $1", now - timedelta(days=keep_days)
    )


async def growth(conn: asyncpg.Connection, since: datetime) -> dict[str, tuple[int, int]]:
    """Return, per consumer, the backlog (pending + unacked) at the first and last sample since."""
    rows = await conn.fetch(
        """
        SELECT consumer,
               (array_agg(pending + ack_pending ORDER BY sampled_at))[1] AS first,
               (array_agg(pending + ack_pending ORDER BY sampled_at DESC))[1] AS last
        FROM monitor_queue_samples WHERE sampled_at >= $1 GROUP BY consumer
        """,
        since,
    )
    return {row["consumer"]: (int(row["first"]), int(row["last"])) for row in rows}
