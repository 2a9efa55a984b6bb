"""One check per rule kind: read the monitor's tables for the rule's window, return findings.

Checks only read; the engine decides what is new, what resolved and what to send.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from services.monitor import queries, queues
from services.monitor.alerts.rules import Finding, Rule
from services.monitor.classify import dead_letter_stage
from services.monitor.store import count_sql
from shared import subjects


@dataclass(frozen=True)
class Context:
    """What every check may read besides the database."""

    now: datetime
    started_at: datetime  # the monitor's start: absence is measured from no earlier than this


Check = Callable[[asyncpg.Connection, Rule, Context], Awaitable[list[Finding]]]


def _since(rule: Rule, ctx: Context) -> datetime:
    return ctx.now - timedelta(minutes=rule.window_minutes)


def _finding(rule: Rule, key: str, message: str, **details: object) -> Finding:
    return Finding(rule.name, key, rule.severity, message, dict(details))


async def pass_rate_below(conn: asyncpg.Connection, rule: Rule, ctx: Context) -> list[Finding]:
    """Fire per record type whose validation pass rate in the window is under the threshold."""
    rows = await conn.fetch(
        f"SELECT coalesce(record_type, 'unknown') AS key, sum({count_sql('records_read')}) AS n,"
        f" sum({count_sql('records_valid')}) AS ok FROM monitor_events"
        " WHERE subject = $1 AND occurred_at >= $2 GROUP BY 1",
        subjects.RECORDS_PROCESSED,
        _since(rule, ctx),
    )
    out = []
    for row in rows:
        n, ok = int(row["n"]), int(row["ok"])
        if n >= max(rule.min_records, 1) and ok / n < rule.threshold:
            text = f"{row['key']}: validation pass rate {ok / n:.1%} < {rule.threshold:.0%}"
            out.append(_finding(rule, row["key"], text, pass_rate=round(ok / n, 4), records=n))
    return out


async def stage_failing(conn: asyncpg.Connection, rule: Rule, ctx: Context) -> list[Finding]:
    """Fire per stage that could not do its work in the window: dead letters or raised alerts.

    A rejected file is bad input, not a failing stage: ``input_rejected`` reports it.
    """
    rows = await conn.fetch(
        "SELECT CASE WHEN subject = $2 THEN coalesce(payload->>'service', 'unknown')"
        " ELSE subject END AS key, stage = 'dlq' AS dead, count(*) AS n FROM monitor_events"
        " WHERE occurred_at >= $1 AND (subject = $2 OR stage = 'dlq')"
        " AND coalesce(payload->>'severity', '') <> 'info' GROUP BY 1, 2",
        _since(rule, ctx),
        subjects.ALERT_RAISED,
    )
    counts: dict[str, int] = {}
    for row in rows:
        stage = dead_letter_stage(row["key"]) if row["dead"] else row["key"]
        counts[stage] = counts.get(stage, 0) + int(row["n"])
    return [
        _finding(
            rule,
            stage,
            f"{stage}: {n} failure(s) in the last {rule.window_minutes:g} min",
            failures=n,
        )
        for stage, n in sorted(counts.items())
        if n >= rule.threshold
    ]


async def input_rejected(conn: asyncpg.Connection, rule: Rule, ctx: Context) -> list[Finding]:
    """Fire per file rejected in the window (``FileRejected``), naming the file and the reason.

    The key is the raw path (unique per file); the message names the file as the user dropped
    it when the event carries ``original_name``.
    """
    rows = await conn.fetch(
        "SELECT DISTINCT ON (payload->>'path') payload->>'path' AS path,"
        " payload->>'original_name' AS original_name, error AS reason, record_type, stage,"
        " payload->>'error_file' AS error_file FROM monitor_events"
        " WHERE subject = $1 AND occurred_at >= $2 AND payload->>'path' IS NOT NULL"
        " ORDER BY payload->>'path', occurred_at DESC",
        subjects.FILES_REJECTED,
        _since(rule, ctx),
    )
    out = []
    for row in rows:
        name = row["original_name"] or row["path"].rsplit("/", 1)[-1]
        text = f"{row['record_type'] or 'file'} {name} rejected: {row['reason'] or 'unreadable'}"
        details = {
            "file": row["path"],
            "original_name": row["original_name"],
            "reason": row["reason"],
            "error_file": row["error_file"],
            "stage": row["stage"],
        }
        out.append(_finding(rule, row["path"], text, **details))
    return out


async def queue_growing(conn: asyncpg.Connection, rule: Rule, ctx: Context) -> list[Finding]:
    """Fire per consumer (or for the dead letters) whose backlog grew to at least the threshold."""
    out = []
    for consumer, (first, last) in sorted((await queues.growth(conn, _since(rule, ctx))).items()):
        is_dlq = consumer == queues.DEAD_LETTERS
        if is_dlq != (rule.target == "dead_letters"):
            continue
        if last > first and last >= rule.threshold:
            text = f"{consumer}: backlog grew from {first} to {last}"
            out.append(_finding(rule, consumer, text, first=first, last=last))
    return out


async def scrape_missing(conn: asyncpg.Connection, rule: Rule, ctx: Context) -> list[Finding]:
    """Fire per record type with no ``ScrapeCompleted`` for the whole window (absence)."""
    rows = await conn.fetch(
        "SELECT record_type, max(occurred_at) AS last FROM monitor_events"
        " WHERE subject = $1 GROUP BY record_type",
        subjects.SCRAPE_COMPLETED,
    )
    last = {row["record_type"]: row["last"] for row in rows}
    out = []
    for record_type in rule.record_types:
        seen = last.get(record_type)
        reference = max(seen, ctx.started_at) if seen else ctx.started_at
        silent_h = (ctx.now - reference).total_seconds() / 3600
        if ctx.now - reference > timedelta(minutes=rule.window_minutes):
            text = f"{record_type}: no scrape completed for {silent_h:.1f} h"
            last_at = seen.isoformat() if seen else None
            out.append(_finding(rule, record_type, text, last_scrape=last_at))
    return out


async def import_lag_above(conn: asyncpg.Connection, rule: Rule, ctx: Context) -> list[Finding]:
    """Fire when the p95 collection-to-import lag of the window's days is over threshold (s)."""
    since = _since(rule, ctx)
    row = await conn.fetchrow(
        queries.LAG,
        since.date(),
        ctx.now.date(),
        subjects.FILES_COLLECTED,
        subjects.RECORDS_PROCESSED,
        subjects.RECORDS_IMPORTED,
    )
    if row is None or row["p95"] is None or row["p95"] <= rule.threshold:
        return []
    p95 = round(float(row["p95"]), 1)
    return [_finding(rule, "all", f"import lag p95 {p95} s > {rule.threshold:g} s", p95_s=p95)]


async def provider_errors_above(
    conn: asyncpg.Connection, rule: Rule, ctx: Context
) -> list[Finding]:
    """Fire per provider whose failure ratio in the window is over the threshold."""
    out = []
    for row in await _usage(conn, rule, ctx):
        n, failed = int(row["requests"]), int(row["failures"])
        if n >= max(rule.min_records, 1) and failed / n > rule.threshold:
            text = f"{row['provider']}: {failed}/{n} requests failed"
            out.append(_finding(rule, row["provider"], text, requests=n, failures=failed))
    return out


async def provider_budget_above(
    conn: asyncpg.Connection, rule: Rule, ctx: Context
) -> list[Finding]:
    """Fire per provider whose credits spent in the window are over the threshold."""
    out = []
    for row in await _usage(conn, rule, ctx):
        spent = float(row["credits"] or 0)
        if spent > rule.threshold:
            text = f"{row['provider']}: {spent:g} credits spent > budget {rule.threshold:g}"
            out.append(_finding(rule, row["provider"], text, credits=spent))
    return out


async def geocode_failures_above(
    conn: asyncpg.Connection, rule: Rule, ctx: Context
) -> list[Finding]:
    """Fire when the online geocoder failed at least ``threshold`` lookups in the window."""
    failed = await conn.fetchval(
        f"SELECT coalesce(sum({count_sql('geocode_failures')}), 0) FROM monitor_events"
        " WHERE subject = $1 AND occurred_at >= $2",
        subjects.RECORDS_PROCESSED,
        _since(rule, ctx),
    )
    n = int(failed)
    if n < max(rule.threshold, 1):
        return []
    text = f"geocoder: {n} lookup(s) failed in the last {rule.window_minutes:g} min"
    return [_finding(rule, "geocoder", text, failures=n)]


async def _usage(conn: asyncpg.Connection, rule: Rule, ctx: Context) -> list[asyncpg.Record]:
    result: list[asyncpg.Record] = await conn.fetch(
        f"SELECT coalesce(payload->>'provider', 'unknown') AS provider,"
        f" sum({count_sql('requests')}) AS requests, sum({count_sql('failures')}) AS failures,"
        f" sum({queries.number_sql('credits')}) AS credits FROM monitor_events"
        " WHERE subject = $1 AND occurred_at >= $2 GROUP BY 1 ORDER BY 1",
        subjects.PROVIDER_USAGE,
        _since(rule, ctx),
    )
    return result


CHECKS: dict[str, Check] = {
    "pass_rate_below": pass_rate_below,
    "stage_failing": stage_failing,
    "input_rejected": input_rejected,
    "queue_growing": queue_growing,
    "scrape_missing": scrape_missing,
    "import_lag_above": import_lag_above,
    "provider_errors_above": provider_errors_above,
    "provider_budget_above": provider_budget_above,
    "geocode_failures_above": geocode_failures_above,
}
