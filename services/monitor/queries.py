"""SQL text of the monitor's derived metrics; every query reads ``monitor_events`` by day range.

Parameters are positional: ``$1`` and ``$2`` are the first and last UTC day, then subjects.
Payload values are read defensively (``count_sql``/``number_sql``): a malformed event counts as
zero instead of failing the whole report.
"""

from __future__ import annotations

from services.monitor.store import count_sql


def number_sql(field: str) -> str:
    """Return SQL for a payload field as a float, NULL when it is not a JSON number."""
    return (
        f"CASE WHEN jsonb_typeof(payload->'{field}') = 'number' "
        f"THEN (payload->>'{field}')::float8 END"
    )


def array_len_sql(field: str) -> str:
    """Return SQL for the length of a payload array field, 0 when it is not an array."""
    return (
        f"CASE WHEN jsonb_typeof(payload->'{field}') = 'array' "
        f"THEN jsonb_array_length(payload->'{field}') ELSE 0 END"
    )


_IN_RANGE = "day BETWEEN $1 AND $2"

# The mean response time of the requests of usage reports that carry one (weighted by requests).
_MEAN_MS = (
    f"sum({number_sql('latency_ms_mean')} * {count_sql('requests')})"
    f" / nullif(sum(CASE WHEN {number_sql('latency_ms_mean')} IS NOT NULL"
    f" THEN {count_sql('requests')} END), 0)"
)

PROVIDER_USAGE = f"""
SELECT coalesce(payload->>'provider', 'unknown') AS provider, count(*) AS reports,
       {_MEAN_MS} AS latency_mean,
       sum({count_sql("requests")}) AS requests, sum({count_sql("failures")}) AS failures,
       sum({count_sql("retries")}) AS retries, sum({number_sql("credits")}) AS credits,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY {number_sql("latency_ms_p50")}) AS latency_p50,
       max({number_sql("latency_ms_p95")}) AS latency_p95
FROM monitor_events WHERE subject = $3 AND {_IN_RANGE}
GROUP BY 1 ORDER BY 1
"""

# Every provider's requests together: $3 provider usage.
USAGE_TOTALS = f"""
SELECT sum({count_sql("requests")}) AS requests, sum({count_sql("failures")}) AS failures,
       {_MEAN_MS} AS latency_mean
FROM monitor_events WHERE subject = $3 AND {_IN_RANGE}
"""

SCRAPES = f"""
SELECT coalesce(payload->>'provider', 'unknown') AS provider, count(*) AS runs,
       sum({count_sql("records")}) AS records, sum({array_len_sql("files")}) AS files,
       count(*) FILTER (WHERE {array_len_sql("errors")} > 0) AS runs_with_errors,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY {number_sql("duration_s")}) AS duration_p50
FROM monitor_events WHERE subject = $3 AND {_IN_RANGE}
GROUP BY 1 ORDER BY 1
"""

_COMPLETENESS = """
(SELECT avg(c.value::float8) FROM jsonb_each_text(
    CASE WHEN jsonb_typeof(payload->'field_completeness') = 'object'
         THEN payload->'field_completeness' ELSE '{{}}'::jsonb END) AS c
 WHERE c.value ~ '^[0-9]*\\.?[0-9]+$')
"""

QUALITY = f"""
SELECT {{keys}},
       count(*) AS batches,
       sum({count_sql("records_read")}) AS records_read,
       sum({count_sql("records_valid")}) AS records_valid,
       sum({count_sql("records_invalid")}) AS records_invalid,
       sum({count_sql("duplicates_in_batch")}) AS duplicates,
       sum({count_sql("near_duplicates")}) AS near_duplicates,
       avg({_COMPLETENESS}) AS completeness
FROM monitor_events WHERE subject = $3 AND {_IN_RANGE}
GROUP BY 1, 2 ORDER BY 1, 2
"""
QUALITY_BY_TYPE_SOURCE = QUALITY.format(
    keys="coalesce(record_type, 'unknown') AS record_type, coalesce(source, 'unknown') AS source"
)
QUALITY_BY_DAY_SOURCE = QUALITY.format(keys="day, coalesce(source, 'unknown') AS source")

REASONS_BY_TYPE = f"""
SELECT coalesce(e.record_type, 'unknown') AS record_type, r.key AS reason,
       sum(r.value::numeric) AS n
FROM monitor_events AS e,
     jsonb_each_text(CASE WHEN jsonb_typeof(e.payload->'errors_by_reason') = 'object'
                          THEN e.payload->'errors_by_reason' ELSE '{{}}'::jsonb END) AS r
WHERE e.subject = $3 AND e.{_IN_RANGE} AND r.value ~ '^[0-9]+$'
GROUP BY 1, 2 ORDER BY 1, n DESC, 2
"""

# (stage, kind, n): $3 rejected, $4 alerts, $5 scrapes, $6 provider usage, $7 imported.
ERRORS_BY_STAGE = f"""
SELECT stage, 'file_rejected' AS kind, count(*)::numeric AS n FROM monitor_events
 WHERE subject = $3 AND {_IN_RANGE} GROUP BY stage
UNION ALL
SELECT subject, 'dead_letter', count(*) FROM monitor_events
 WHERE stage = 'dlq' AND {_IN_RANGE} GROUP BY subject
UNION ALL
SELECT coalesce(payload->>'service', 'unknown'), coalesce(payload->>'kind', 'alert'), count(*)
  FROM monitor_events WHERE subject = $4 AND {_IN_RANGE} GROUP BY 1, 2
UNION ALL
SELECT 'collector', 'scrape_error', sum({array_len_sql("errors")}) FROM monitor_events
 WHERE subject = $5 AND {_IN_RANGE}
UNION ALL
SELECT 'collector', 'provider_failure', sum({count_sql("failures")}) FROM monitor_events
 WHERE subject = $6 AND {_IN_RANGE}
UNION ALL
SELECT 'importer', 'import_row_failed', sum({count_sql("failed")}) FROM monitor_events
 WHERE subject = $7 AND {_IN_RANGE}
"""

# Records read per source and type, each raw file counted once (its latest processing: a file
# processed again is not collected again). $3 processed.
RECORDS_READ_PER_FILE = f"""
SELECT source, record_type, sum(n) AS n FROM (
    SELECT DISTINCT ON (payload->>'raw_path') coalesce(source, 'unknown') AS source,
           coalesce(record_type, 'unknown') AS record_type, {count_sql("records_read")} AS n
    FROM monitor_events WHERE subject = $3 AND {_IN_RANGE}
    ORDER BY payload->>'raw_path', occurred_at DESC
) AS latest GROUP BY 1, 2
"""

# The files rejected in the range, newest first: named as dropped. $3 rejected, $4 limit.
REJECTED_FILES = f"""
SELECT occurred_at, payload->>'path' AS path, payload->>'original_name' AS original_name,
       record_type, stage, error AS reason, payload->>'error_file' AS error_file
FROM monitor_events WHERE subject = $3 AND {_IN_RANGE}
ORDER BY occurred_at DESC LIMIT $4
"""

STAGE_TIMES = f"""
SELECT subject, count(*) AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY {number_sql("duration_s")}) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY {number_sql("duration_s")}) AS p95
FROM monitor_events
WHERE subject = ANY($3::text[]) AND {_IN_RANGE} AND jsonb_typeof(payload->'duration_s') = 'number'
GROUP BY subject
"""

# Collection -> processing -> import, joined on raw path and batch id. $3 collected,
# $4 processed, $5 imported; the import day decides the range.
LAG = f"""
WITH imp AS (
    SELECT payload->>'batch_id' AS batch_id, min(occurred_at) AS imported_at
    FROM monitor_events WHERE subject = $5 AND {_IN_RANGE} GROUP BY 1
), proc AS (
    SELECT payload->>'batch_id' AS batch_id, min(payload->>'raw_path') AS raw_path,
           min(occurred_at) AS processed_at
    FROM monitor_events
    WHERE subject = $4 AND payload->>'batch_id' IN (SELECT batch_id FROM imp) GROUP BY 1
), col AS (
    SELECT payload->>'path' AS path, min(occurred_at) AS collected_at
    FROM monitor_events
    WHERE subject = $3 AND payload->>'path' IN (SELECT raw_path FROM proc) GROUP BY 1
), joined AS (
    SELECT extract(epoch FROM imp.imported_at - col.collected_at) AS total_s,
           extract(epoch FROM proc.processed_at - col.collected_at) AS to_processed_s,
           extract(epoch FROM imp.imported_at - proc.processed_at) AS to_imported_s
    FROM imp JOIN proc USING (batch_id) JOIN col ON col.path = proc.raw_path
)
SELECT count(*) AS batches,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY total_s) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY total_s) AS p95,
       max(total_s) AS max,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY to_processed_s) AS to_processed_p50,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY to_imported_s) AS to_imported_p50
FROM joined
"""

# Throughput per time bucket ($3 'hour' or 'day'; $4 the subjects).
THROUGHPUT = f"""
SELECT date_trunc($3, occurred_at AT TIME ZONE 'UTC') AS bucket, subject, count(*) AS events,
       sum({count_sql("record_count")}) AS record_count,
       sum({count_sql("records_read")}) AS records_read,
       sum({count_sql("records_valid")}) AS records_valid,
       sum({count_sql("duplicates_in_batch")}) AS duplicates,
       sum({count_sql("rows_total")}) AS rows_total
FROM monitor_events WHERE subject = ANY($4::text[]) AND {_IN_RANGE}
GROUP BY 1, 2 ORDER BY 1, 2
"""


def _of(alias: str, sql: str) -> str:
    """Return SQL written for ``payload`` as SQL on the payload of the row ``alias``."""
    return sql.replace("payload", f"{alias}.payload")


# The latest scrape runs, each with what processing kept and refused of its files (each file's
# latest processing; NULL while none is processed). $1 scrapes, $2 limit, $3 processed.
RECENT_RUNS = f"""
SELECT s.occurred_at, s.payload->>'run_id' AS run_id, s.payload->>'provider' AS provider,
       s.record_type, {_of("s", count_sql("records"))} AS records,
       CASE WHEN jsonb_typeof(s.payload->'files') = 'array' THEN s.payload->'files' END AS files,
       {_of("s", array_len_sql("errors"))} AS errors,
       {_of("s", number_sql("duration_s"))} AS duration_s,
       o.valid, o.refused
FROM (SELECT * FROM monitor_events WHERE subject = $1 ORDER BY occurred_at DESC LIMIT $2) AS s
LEFT JOIN LATERAL (
    SELECT sum(valid) AS valid, sum(refused) AS refused FROM (
        SELECT DISTINCT ON (p.payload->>'raw_path')
               {_of("p", count_sql("records_valid"))} AS valid,
               {_of("p", count_sql("records_invalid"))} AS refused
        FROM monitor_events AS p
        WHERE p.subject = $3 AND jsonb_typeof(s.payload->'files') = 'array'
          AND s.payload->'files' ? (p.payload->>'raw_path')
        ORDER BY p.payload->>'raw_path', p.occurred_at DESC
    ) AS latest
) AS o ON true
ORDER BY s.occurred_at DESC
"""

# The processed files of the range that had records refused, newest first (each file's latest
# processing), with the scrape run that collected the file (none for a dropped file).
# $3 processed, $4 scrapes, $5 limit.
REFUSED_RECORDS = f"""
SELECT p.occurred_at, p.payload->>'raw_path' AS path, p.payload->>'original_name' AS original_name,
       p.record_type, p.source, {_of("p", count_sql("records_read"))} AS records_read,
       {_of("p", count_sql("records_invalid"))} AS refused,
       CASE WHEN jsonb_typeof(p.payload->'errors_by_reason') = 'object'
            THEN p.payload->'errors_by_reason' END AS reasons,
       p.payload->>'failed_path' AS failed_path,
       r.payload->>'run_id' AS run_id, r.payload->>'provider' AS provider,
       r.payload->>'query' AS query
FROM (SELECT DISTINCT ON (payload->>'raw_path') * FROM monitor_events
      WHERE subject = $3 AND {_IN_RANGE}
      ORDER BY payload->>'raw_path', occurred_at DESC) AS p
LEFT JOIN LATERAL (SELECT payload FROM monitor_events
                   WHERE subject = $4 AND jsonb_typeof(payload->'files') = 'array'
                     AND payload->'files' ? (p.payload->>'raw_path')
                   ORDER BY occurred_at DESC LIMIT 1) AS r ON true
WHERE {_of("p", count_sql("records_invalid"))} > 0
ORDER BY p.occurred_at DESC LIMIT $5
"""

# The last collected files and what became of them. $1 collected, $2 processed, $3 imported,
# $5 rejected.
RECENT_FILES = f"""
SELECT c.occurred_at, c.payload->>'path' AS path, c.payload->>'original_name' AS original_name,
       c.record_type, c.source, r.error AS rejected,
       p.payload->>'batch_id' AS batch_id,
       {count_sql("records_valid").replace("payload", "p.payload")} AS valid,
       {count_sql("records_invalid").replace("payload", "p.payload")} AS invalid,
       i.payload->>'rows_total' AS imported
FROM (SELECT * FROM monitor_events WHERE subject = $1 ORDER BY occurred_at DESC LIMIT $4) AS c
LEFT JOIN LATERAL (SELECT payload FROM monitor_events
                   WHERE subject = $2 AND payload->>'raw_path' = c.payload->>'path'
                   ORDER BY occurred_at LIMIT 1) AS p ON true
LEFT JOIN LATERAL (SELECT payload FROM monitor_events
                   WHERE subject = $3 AND payload->>'batch_id' = p.payload->>'batch_id'
                   ORDER BY occurred_at LIMIT 1) AS i ON true
LEFT JOIN LATERAL (SELECT error FROM monitor_events
                   WHERE subject = $5 AND payload->>'path' = c.payload->>'path'
                   ORDER BY occurred_at DESC LIMIT 1) AS r ON true
ORDER BY c.occurred_at DESC
"""
