"""Derived metrics of a day range, read from ``monitor_events`` (and the data tables' links).

Every function takes a plain asyncpg connection and returns JSON-ready dicts, so the HTTP API,
the report and the alert rules share them. Nothing is kept in memory: a restart loses nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import asyncpg
import orjson

from services.monitor import queries
from services.monitor.classify import dead_letter_stage
from shared import subjects

STAGE_SUBJECTS = {
    "collector": subjects.SCRAPE_COMPLETED,
    "processor": subjects.RECORDS_PROCESSED,
    "importer": subjects.RECORDS_IMPORTED,
}
DATA_TABLES = ("vehicles", "events", "articles")


def rate(part: float, whole: float) -> float | None:
    """Return ``part / whole`` rounded to 4 places, or None when ``whole`` is zero."""
    return round(part / whole, 4) if whole else None


def _num(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


async def providers(conn: asyncpg.Connection, start: date, end: date) -> dict[str, Any]:
    """Return per-provider scraping: runs, records, requests, success rate, latencies, credits."""
    usage = await conn.fetch(queries.PROVIDER_USAGE, start, end, subjects.PROVIDER_USAGE)
    runs = await conn.fetch(queries.SCRAPES, start, end, subjects.SCRAPE_COMPLETED)
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in runs:
        out[row["provider"]].update(
            runs=row["runs"],
            records=int(row["records"]),
            files=int(row["files"]),
            runs_with_errors=row["runs_with_errors"],
            duration_s_p50=_num(row["duration_p50"]),
        )
    for row in usage:
        requests, failures = int(row["requests"]), int(row["failures"])
        out[row["provider"]].update(
            requests=requests,
            failures=failures,
            retries=int(row["retries"]),
            success_rate=rate(requests - failures, requests),
            latency_ms_p50=_num(row["latency_p50"]),
            latency_ms_p95=_num(row["latency_p95"]),
            avg_response_ms=_ms(row["latency_mean"]),
            credits=_num(row["credits"]),
        )
    return dict(sorted(out.items()))


async def provider_totals(conn: asyncpg.Connection, start: date, end: date) -> dict[str, Any]:
    """Return the success rate and mean response time of every provider's requests together.

    None where no request was reported (a range of drops only), or no report timed its requests.
    """
    row = await conn.fetchrow(queries.USAGE_TOTALS, start, end, subjects.PROVIDER_USAGE)
    requests = int(row["requests"] or 0) if row else 0
    failures = int(row["failures"] or 0) if row else 0
    return {
        "requests": requests,
        "success_rate": rate(requests - failures, requests),
        "avg_response_ms": _ms(row["latency_mean"]) if row else None,
    }


def _ms(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _quality_row(row: asyncpg.Record) -> dict[str, Any]:
    read, valid = int(row["records_read"]), int(row["records_valid"])
    dups, near = int(row["duplicates"]), int(row["near_duplicates"])
    return {
        "batches": row["batches"],
        "records_read": read,
        "records_valid": valid,
        "records_invalid": int(row["records_invalid"]),
        "duplicates": dups,
        "near_duplicates": near,
        "pass_rate": rate(valid, read),
        "duplicate_rate": rate(dups + near, read + dups),
        "completeness": _num(row["completeness"]),
    }


async def validation_by(conn: asyncpg.Connection, start: date, end: date) -> list[dict[str, Any]]:
    """Return validation counts and rates per record type and source."""
    rows = await conn.fetch(queries.QUALITY_BY_TYPE_SOURCE, start, end, subjects.RECORDS_PROCESSED)
    return [
        {"record_type": r["record_type"], "source": r["source"], **_quality_row(r)} for r in rows
    ]


async def quality(conn: asyncpg.Connection, start: date, end: date) -> list[dict[str, Any]]:
    """Return data quality per day and source: pass rate, duplicate rate, field completeness."""
    rows = await conn.fetch(queries.QUALITY_BY_DAY_SOURCE, start, end, subjects.RECORDS_PROCESSED)
    return [{"day": r["day"].isoformat(), "source": r["source"], **_quality_row(r)} for r in rows]


async def reasons_by_type(
    conn: asyncpg.Connection, start: date, end: date
) -> dict[str, dict[str, int]]:
    """Return validation failures per record type and reason."""
    rows = await conn.fetch(queries.REASONS_BY_TYPE, start, end, subjects.RECORDS_PROCESSED)
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        out[row["record_type"]][row["reason"]] = int(row["n"])
    return dict(out)


async def errors_by_stage(
    conn: asyncpg.Connection, start: date, end: date
) -> dict[str, dict[str, int]]:
    """Return error counts per stage and kind (rejections, dead letters, alerts, failures)."""
    rows = await conn.fetch(
        queries.ERRORS_BY_STAGE,
        start,
        end,
        subjects.FILES_REJECTED,
        subjects.ALERT_RAISED,
        subjects.SCRAPE_COMPLETED,
        subjects.PROVIDER_USAGE,
        subjects.RECORDS_IMPORTED,
    )
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        n = int(row["n"] or 0)
        if not n:
            continue
        stage = row["stage"]
        if row["kind"] == "dead_letter":
            stage = dead_letter_stage(stage)
        out[stage][row["kind"]] += n
    return {stage: dict(sorted(kinds.items())) for stage, kinds in sorted(out.items())}


async def records_read_per_file(
    conn: asyncpg.Connection, start: date, end: date
) -> dict[tuple[str, str], int]:
    """Return the records read per (source, record type), each raw file's latest processing once."""
    rows = await conn.fetch(queries.RECORDS_READ_PER_FILE, start, end, subjects.RECORDS_PROCESSED)
    return {(row["source"], row["record_type"]): int(row["n"]) for row in rows}


async def rejected_files(
    conn: asyncpg.Connection, start: date, end: date, limit: int = 100
) -> list[dict[str, Any]]:
    """Return the files rejected in the range, newest first, each with the name it was dropped as.

    ``name`` is ``original_name`` when the file came through the inbox, else the raw file's name.
    """
    rows = await conn.fetch(queries.REJECTED_FILES, start, end, subjects.FILES_REJECTED, limit)
    return [
        {
            **dict(row),
            "occurred_at": row["occurred_at"].isoformat(),
            "name": row["original_name"] or (row["path"] or "").rsplit("/", 1)[-1],
        }
        for row in rows
    ]


async def refused_records(
    conn: asyncpg.Connection, start: date, end: date, limit: int = 100
) -> list[dict[str, Any]]:
    """Return the files of the range with refused records, newest first: reasons and run.

    ``name`` is the file as dropped, else the raw file's name; ``provider``, ``run_id`` and
    ``query`` name the scrape run that collected it (None for a dropped file).
    """
    rows = await conn.fetch(
        queries.REFUSED_RECORDS,
        start,
        end,
        subjects.RECORDS_PROCESSED,
        subjects.SCRAPE_COMPLETED,
        limit,
    )
    return [
        {
            **dict(row),
            "occurred_at": row["occurred_at"].isoformat(),
            "name": row["original_name"] or (row["path"] or "").rsplit("/", 1)[-1],
            "records_read": int(row["records_read"]),
            "refused": int(row["refused"]),
            "reasons": _reasons(row["reasons"]),
        }
        for row in rows
    ]


def _reasons(value: str | None) -> dict[str, int]:
    """Return a batch's count of failures by reason, most frequent first; odd values left out."""
    counts = orjson.loads(value) if value else {}
    kept = {str(k): v for k, v in counts.items() if isinstance(v, int) and v > 0}
    return dict(sorted(kept.items(), key=lambda item: (-item[1], item[0])))


async def stage_times(conn: asyncpg.Connection, start: date, end: date) -> dict[str, Any]:
    """Return ``duration_s`` p50/p95 per stage, and the collection-to-import lag."""
    rows = await conn.fetch(queries.STAGE_TIMES, start, end, list(STAGE_SUBJECTS.values()))
    by_subject = {row["subject"]: row for row in rows}
    stages = {
        stage: {"n": row["n"], "p50_s": _num(row["p50"]), "p95_s": _num(row["p95"])}
        for stage, subject in STAGE_SUBJECTS.items()
        if (row := by_subject.get(subject)) is not None
    }
    lag = await conn.fetchrow(
        queries.LAG,
        start,
        end,
        subjects.FILES_COLLECTED,
        subjects.RECORDS_PROCESSED,
        subjects.RECORDS_IMPORTED,
    )
    end_to_end = {
        "batches": lag["batches"] if lag else 0,
        **{key: _num(lag[key]) if lag else None for key in ("p50", "p95", "max")},
        "to_processed_p50": _num(lag["to_processed_p50"]) if lag else None,
        "to_imported_p50": _num(lag["to_imported_p50"]) if lag else None,
    }
    return {"stages": stages, "end_to_end_s": end_to_end}


async def near_duplicate_links(conn: asyncpg.Connection, start: date, end: date) -> dict[str, int]:
    """Return rows linked as near duplicates (``canonical_hash``) per table, imported start..end."""
    out: dict[str, int] = {}
    for table in DATA_TABLES:
        exists = await conn.fetchval(
            "SELECT 1 FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = $1 "
            "AND column_name = 'canonical_hash'",
            table,
        )
        if not exists:
            continue
        out[table] = await conn.fetchval(
            # Table names come from DATA_TABLES, never from input.
            f"SELECT count(*) FROM {table} WHERE canonical_hash IS NOT NULL "
            "AND (imported_at AT TIME ZONE 'UTC')::date BETWEEN $1 AND $2",
            start,
            end,
        )
    return out


async def throughput(conn: asyncpg.Connection, start: date, end: date) -> dict[str, Any]:
    """Return records per time bucket and stage (hourly up to two days, else daily)."""
    unit = "hour" if (end - start).days < 2 else "day"
    wanted = [subjects.FILES_COLLECTED, subjects.RECORDS_PROCESSED, subjects.RECORDS_IMPORTED]
    rows = await conn.fetch(queries.THROUGHPUT, start, end, unit, wanted)
    buckets: dict[str, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(("collected", "validated", "passed", "duplicates", "imported"), 0)
    )
    for row in rows:
        bucket = buckets[row["bucket"].isoformat()]
        if row["subject"] == subjects.FILES_COLLECTED:
            bucket["collected"] += int(row["record_count"])
        elif row["subject"] == subjects.RECORDS_PROCESSED:
            bucket["validated"] += int(row["records_read"])
            bucket["passed"] += int(row["records_valid"])
            bucket["duplicates"] += int(row["duplicates"])
        else:
            bucket["imported"] += int(row["rows_total"])
    return {"unit": unit, "buckets": [{"at": at, **v} for at, v in sorted(buckets.items())]}


async def recent(conn: asyncpg.Connection, limit: int = 20) -> dict[str, Any]:
    """Return the latest scrape runs (with their files) and the latest collected files' fate."""
    runs = await conn.fetch(
        queries.RECENT_RUNS, subjects.SCRAPE_COMPLETED, limit, subjects.RECORDS_PROCESSED
    )
    files = await conn.fetch(
        queries.RECENT_FILES,
        subjects.FILES_COLLECTED,
        subjects.RECORDS_PROCESSED,
        subjects.RECORDS_IMPORTED,
        limit,
        subjects.FILES_REJECTED,
    )
    return {
        "runs": [
            {
                **dict(r),
                "occurred_at": r["occurred_at"].isoformat(),
                "records": int(r["records"]),
                "files": orjson.loads(r["files"]) if r["files"] else [],
                "valid": None if r["valid"] is None else int(r["valid"]),
                "refused": None if r["refused"] is None else int(r["refused"]),
            }
            for r in runs
        ],
        "files": [
            {
                **dict(f),
                "occurred_at": f["occurred_at"].isoformat(),
                "valid": int(f["valid"]) if f["batch_id"] else None,
                "invalid": int(f["invalid"]) if f["batch_id"] else None,
                "imported": int(f["imported"]) if f["imported"] else None,
            }
            for f in files
        ],
    }
