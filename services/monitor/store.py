"""SQL of the monitor: store an event once, and read the totals that seed the counters."""

from __future__ import annotations

from datetime import date

import asyncpg
import orjson

from services.monitor.classify import MonitorEvent
from services.monitor.metrics import ALL_SUMMED_FIELDS, Tally

INSERT_EVENT = """
INSERT INTO monitor_events
    (event_id, subject, stage, record_type, source, day, occurred_at, payload, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""


def count_sql(field: str) -> str:
    """Return SQL for a payload field as a count: a non-negative JSON integer, else 0."""
    value = f"payload->>'{field}'"
    return (
        f"CASE WHEN jsonb_typeof(payload->'{field}') = 'number' AND {value} ~ '^[0-9]+$' "
        f"THEN ({value})::numeric ELSE 0 END"
    )


TOTALS = f"""
SELECT subject, stage, record_type, source, count(*) AS events,
       {", ".join(f"sum({count_sql(name)}) AS {name}" for name in ALL_SUMMED_FIELDS)}
FROM monitor_events
{{where}}
GROUP BY subject, stage, record_type, source
"""
DAY_RANGE = "WHERE day BETWEEN $1 AND $2"


async def insert_event(conn: asyncpg.Connection, event: MonitorEvent) -> bool:
    """Store an event unless its id is already stored; return whether it was new."""
    row = await conn.fetchval(
        INSERT_EVENT,
        event.event_id,
        event.subject,
        event.stage,
        event.record_type,
        event.source,
        event.day,
        event.occurred_at,
        # PostgreSQL's jsonb refuses the NUL character; keep the event rather than fail on it.
        orjson.dumps(event.payload).decode().replace("\\u0000", "\\ufffd"),
        event.error,
    )
    return row is not None


async def fetch_totals(
    conn: asyncpg.Connection, start: date | None = None, end: date | None = None
) -> list[Tally]:
    """Return stored events grouped into tallies: all of them, or those of days start..end."""
    if start is None or end is None:
        rows = await conn.fetch(TOTALS.format(where=""))
    else:
        rows = await conn.fetch(TOTALS.format(where=DAY_RANGE), start, end)
    return [
        Tally(
            subject=row["subject"],
            stage=row["stage"],
            record_type=row["record_type"],
            source=row["source"],
            events=row["events"],
            sums={name: int(row[name]) for name in ALL_SUMMED_FIELDS if row[name]},
        )
        for row in rows
    ]
