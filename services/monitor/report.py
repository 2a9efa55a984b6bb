"""The pipeline report of a day (or a range of days), aggregated from ``monitor_events``.

``build_report`` takes a plain asyncpg connection so the CLI can call it without the service;
``render_text`` turns its dict into the plain-text report people read.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import asyncpg

from services.monitor import stats, store
from services.monitor.classify import dead_letter_origin
from services.monitor.metrics import UNKNOWN, Tally
from shared import subjects

PROCESSED_COUNTS = """
SELECT map.name AS map, item.key AS key, sum(item.value::numeric) AS n
FROM monitor_events AS e,
     unnest($4::text[]) AS map(name),
     jsonb_each_text(
         CASE WHEN jsonb_typeof(e.payload->map.name) = 'object'
              THEN e.payload->map.name ELSE '{}'::jsonb END
     ) AS item
WHERE e.subject = $3 AND e.day BETWEEN $1 AND $2 AND item.value ~ '^[0-9]+$'
GROUP BY map.name, item.key
ORDER BY map.name, n DESC, item.key
"""
"""Sum count maps of the processed batches' events (``$4``: their names), in one scan."""
_PROCESSED_MAPS = ("errors_by_reason", "repairs_by_rule")


_PROCESSED_FIELDS = ("records_read", "records_valid", "records_invalid", "duplicates_in_batch")
_IMPORTED_FIELDS = ("rows_total", "inserted", "updated", "unchanged", "failed")
_RECORD_TYPES = ("vehicles", "events", "articles")


async def build_report(conn: asyncpg.Connection, start: date, end: date) -> dict[str, Any]:
    """Return the pipeline report of the days ``start`` to ``end`` (inclusive, UTC days)."""
    tallies = await store.fetch_totals(conn, start, end)
    validation = _validation(tallies)
    counts = await conn.fetch(
        PROCESSED_COUNTS, start, end, subjects.RECORDS_PROCESSED, list(_PROCESSED_MAPS)
    )
    for name in _PROCESSED_MAPS:
        validation[name] = {row["key"]: int(row["n"]) for row in counts if row["map"] == name}
    validation["reasons_by_type"] = await stats.reasons_by_type(conn, start, end)
    validation["by_type_source"] = await stats.validation_by(conn, start, end)
    scraping = scraping_section(tallies, await stats.records_read_per_file(conn, start, end))
    scraping["by_provider"] = await stats.providers(conn, start, end)
    scraping.update(await stats.provider_totals(conn, start, end))
    errors = _errors(tallies)
    errors["by_stage"] = await stats.errors_by_stage(conn, start, end)
    errors["rejected_files"] = await stats.rejected_files(conn, start, end)
    errors["refused_records"] = await stats.refused_records(conn, start, end)
    return {
        "date_from": start.isoformat(),
        "date_to": end.isoformat(),
        "scraping": scraping,
        "validation": validation,
        "duplicates": await _duplicates(conn, start, end, validation),
        "import": _import(tallies),
        "errors": errors,
        "timings": await stats.stage_times(conn, start, end),
        "quality": await stats.quality(conn, start, end),
    }


async def _duplicates(
    conn: asyncpg.Connection, start: date, end: date, validation: dict[str, Any]
) -> dict[str, Any]:
    exact = validation["duplicates_in_batch"]
    near = sum(row["near_duplicates"] for row in validation["by_type_source"])
    links = await stats.near_duplicate_links(conn, start, end)
    seen = validation["records_read"] + exact
    return {
        "exact": exact,
        "near": near,
        "near_links_imported": links,
        "rate": stats.rate(exact + near, seen),
    }


def _of(tallies: list[Tally], subject: str) -> list[Tally]:
    return [t for t in tallies if t.subject == subject]


def scraping_section(tallies: list[Tally], read: dict[tuple[str, str], int]) -> dict[str, Any]:
    """Files and records collected, by source and by record type.

    A dropped file is announced without a record count (the collector does not parse it): the
    records of a source and type whose files carry no count are the records the processor read
    from them (``read``: per source and type, each raw file once however often it was processed),
    and the source is listed under ``counted_when_processed``.
    """
    pairs: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"files": 0, "records": 0})
    for t in _of(tallies, subjects.FILES_COLLECTED):
        bucket = pairs[(t.source or UNKNOWN, t.record_type or UNKNOWN)]
        bucket["files"] += t.events
        bucket["records"] += t.sums.get("record_count", 0)
    by_source: dict[str, dict[str, int]] = defaultdict(lambda: {"files": 0, "records": 0})
    by_type: dict[str, dict[str, int]] = defaultdict(lambda: {"files": 0, "records": 0})
    counted_when_processed: set[str] = set()
    for (source, record_type), bucket in pairs.items():
        records = bucket["records"]
        if not records and read.get((source, record_type)):
            records = read[(source, record_type)]
            counted_when_processed.add(source)
        for total in (by_source[source], by_type[record_type]):
            total["files"] += bucket["files"]
            total["records"] += records
    return {
        "files_collected": sum(v["files"] for v in by_source.values()),
        "records_collected": sum(v["records"] for v in by_source.values()),
        "by_source": dict(sorted(by_source.items())),
        "by_record_type": dict(sorted(by_type.items())),
        "counted_when_processed": sorted(counted_when_processed),
    }


def _validation(tallies: list[Tally]) -> dict[str, Any]:
    processed = _of(tallies, subjects.RECORDS_PROCESSED)
    totals = {name: sum(t.sums.get(name, 0) for t in processed) for name in _PROCESSED_FIELDS}
    read = totals["records_read"]
    return {
        "batches": sum(t.events for t in processed),
        **totals,
        "pass_rate": round(totals["records_valid"] / read, 4) if read else None,
    }


def _import(tallies: list[Tally]) -> dict[str, Any]:
    imported = _of(tallies, subjects.RECORDS_IMPORTED)
    by_type: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_IMPORTED_FIELDS, 0))
    for t in imported:
        bucket = by_type[t.record_type or UNKNOWN]
        for name in _IMPORTED_FIELDS:
            bucket[name] += t.sums.get(name, 0)
    totals = {name: sum(v[name] for v in by_type.values()) for name in _IMPORTED_FIELDS}
    return {
        "batches": sum(t.events for t in imported),
        **totals,
        "imported": _imported(totals),
        "imported_by_type": {kind: _imported(by_type.get(kind, {})) for kind in _RECORD_TYPES},
        "by_record_type": dict(sorted(by_type.items())),
    }


def _imported(counts: dict[str, int]) -> int:
    """Return the rows a batch's import stored or confirmed (the seed's "Total Imported")."""
    return sum(counts.get(name, 0) for name in ("inserted", "updated", "unchanged"))


def _errors(tallies: list[Tally]) -> dict[str, Any]:
    rejected: dict[str, int] = defaultdict(int)
    dead: dict[str, int] = defaultdict(int)
    for t in tallies:
        if t.subject == subjects.FILES_REJECTED:
            rejected[t.stage] += t.events
        elif t.subject.startswith(subjects.DLQ_PREFIX + "."):
            dead[dead_letter_origin(t.subject)] += t.events
    import_failures = sum(t.sums.get("failed", 0) for t in _of(tallies, subjects.RECORDS_IMPORTED))
    return {
        "total": sum(rejected.values()) + sum(dead.values()) + import_failures,
        "files_rejected": sum(rejected.values()),
        "rejected_by_stage": dict(sorted(rejected.items())),
        "dead_letters": sum(dead.values()),
        "dead_letters_by_subject": dict(sorted(dead.items())),
        "import_failures": import_failures,
    }


def render_text(report: dict[str, Any]) -> str:
    """Return the report as aligned plain text, one section per line."""
    start, end = report["date_from"], report["date_to"]
    scraping, validation = report["scraping"], report["validation"]
    imported, errors = report["import"], report["errors"]
    late = set(scraping.get("counted_when_processed", ()))  # absent in reports of older versions
    sources = ", ".join(
        f"{name}: {v['files']} files"
        + (" (records counted when processed)" if name in late else "")
        for name, v in scraping["by_source"].items()
    )
    rate = validation["pass_rate"]
    lines = [
        f"Pipeline report {start}" + ("" if start == end else f" .. {end}"),
        _line(
            "Scraping",
            f"files {scraping['files_collected']}",
            f"records {scraping['records_collected']}",
            *_request_items(scraping),
        )
        + (f"   ({sources})" if sources else ""),
        _line(
            "Validation",
            f"validated {validation['records_read']}",
            f"passed {validation['records_valid']}",
            f"failed {validation['records_invalid']}",
            "pass rate " + ("n/a" if rate is None else f"{rate * 100:.1f}%"),
            f"duplicates {validation['duplicates_in_batch']}",
        ),
        _line(
            "Import",
            *_imported_items(imported),
            f"inserted {imported['inserted']}",
            f"updated {imported['updated']}",
            f"unchanged {imported['unchanged']}",
            f"failed {imported['failed']}",
        ),
        _line(
            "Errors",
            *([f"total {errors['total']}"] if "total" in errors else []),
            f"rejected files {errors['files_rejected']}",
            f"dead letters {errors['dead_letters']}",
            f"import errors {errors['import_failures']}",
        ),
    ]
    if validation["errors_by_reason"]:
        lines.append("  by reason: " + _pairs(validation["errors_by_reason"]))
    if validation.get("repairs_by_rule"):  # absent from reports built before it existed
        lines.append("  repairs: " + _pairs(validation["repairs_by_rule"]))
    if errors["dead_letters_by_subject"]:
        lines.append("  dead letters: " + _pairs(errors["dead_letters_by_subject"]))
    for rejected in errors.get("rejected_files", []):  # absent from reports of older versions
        kept = rejected.get("error_file") or rejected["path"]
        lines.append(f"  rejected {rejected['name']}: {rejected['reason']}  ({kept})")
    for refused in errors.get("refused_records", []):  # absent from reports of older versions
        run = f" ({refused['provider']} run {refused['run_id']})" if refused["run_id"] else ""
        lines.append(
            f"  refused {refused['refused']} of {refused['records_read']} in {refused['name']}"
            f"{run}: {_pairs(refused['reasons'])}  ({refused['failed_path'] or refused['path']})"
        )
    lines.extend(_extra_lines(report))
    return "\n".join(lines)


def _request_items(scraping: dict[str, Any]) -> list[str]:
    """Return the seed's success rate and average response, when providers reported requests."""
    items = []
    if scraping.get("success_rate") is not None:
        items.append(f"success rate {_pct(scraping['success_rate'])}")
    if scraping.get("avg_response_ms") is not None:
        items.append(f"avg response {scraping['avg_response_ms']:g} ms")
    return items


def _imported_items(imported: dict[str, Any]) -> list[str]:
    """Return the seed's "Total Imported" with its split by record type (absent in old reports)."""
    if "imported" not in imported:
        return []
    split = ", ".join(f"{kind} {n}" for kind, n in imported["imported_by_type"].items())
    return [f"imported {imported['imported']} ({split})"]


def _extra_lines(report: dict[str, Any]) -> list[str]:
    """Return the lines of the sections added after the seed's report (absent in old reports)."""
    lines = [
        f"  provider {name}: {_provider(p)}"
        for name, p in report["scraping"].get("by_provider", {}).items()
    ]
    if dups := report.get("duplicates"):
        lines.append(
            _line(
                "Duplicates",
                f"exact {dups['exact']}",
                f"near {dups['near']}",
                f"rate {_pct(dups['rate'])}",
            )
        )
    for stage, kinds in report["errors"].get("by_stage", {}).items():
        lines.append(f"  {stage} errors: " + _pairs(kinds))
    if timings := report.get("timings"):
        items = [
            f"{stage} p50 {_s(t['p50_s'])} p95 {_s(t['p95_s'])}"
            for stage, t in timings["stages"].items()
        ]
        e2e = timings["end_to_end_s"]
        if e2e["batches"]:
            items.append(f"end-to-end p50 {_s(e2e['p50'])} p95 {_s(e2e['p95'])}")
        if items:
            lines.append(_line("Timing", *items))
    for q in report.get("quality", []):
        lines.append(
            f"  quality {q['day']} {q['source']}: pass {_pct(q['pass_rate'])}"
            f"  duplicates {_pct(q['duplicate_rate'])}  complete {_pct(q['completeness'])}"
        )
    return lines


def _provider(p: dict[str, Any]) -> str:
    parts = [f"{p.get('runs', 0)} runs", f"{p.get('records', 0)} records"]
    if "requests" in p:
        parts.append(f"{p['requests']} requests ({_pct(p['success_rate'])} ok)")
    if p.get("latency_ms_p50") is not None:
        parts.append(f"p50 {p['latency_ms_p50']:g} ms")
    return ", ".join(parts)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}s"


def _line(label: str, *items: str) -> str:
    return f"{label:<13}" + "  ".join(items)


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items())
