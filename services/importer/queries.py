"""SQL text built from the column lists of ``shared.records``, and processed lines mapped to rows.

Every statement is derived from ``processed_columns(record_type)``, so the tables, the staging
table and the upsert can never disagree on the columns. Values are always COPY data or query
parameters; identifiers come only from code and are checked and quoted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

import orjson

from shared.events import RecordType
from shared.records import LINEAGE_FIELDS, processed_columns

NATURAL_KEY = "data_hash"
NOT_COMPARED = frozenset({*LINEAGE_FIELDS, NATURAL_KEY, "enrichment"})
"""Columns that do not make a record "changed": where it came from, its key, and the derived
context (market position, geocode, repairs), which moves with what else is known. They are
rewritten together with a real change, never alone."""
COLLECTED_AT = "collected_at"  # lineage the processed lines do not carry: set per file
_IDENTIFIER_RE = re.compile(r"^[a-z_][a-z0-9_]*$")


def quote(identifier: str) -> str:
    """Return a code-defined identifier double-quoted, refusing anything unusual."""
    if not _IDENTIFIER_RE.match(identifier):
        msg = f"not a safe SQL identifier: {identifier!r}"
        raise ValueError(msg)
    return f'"{identifier}"'


@dataclass(frozen=True)
class TableSql:
    """The statements that load one record type through its staging table."""

    table: str
    stage: str
    columns: tuple[str, ...]
    compared: tuple[str, ...]
    create_stage: str
    upsert: str
    copy_columns: tuple[str, ...]
    """The columns of a staged row (and of the staging table): ``columns``, ``collected_at``."""
    key_index: int
    """Position of the natural key in ``copy_columns`` (and in each staged row's values)."""
    known_keys: str
    """Query: which of the natural keys in ``$1`` (a text array) the table already holds."""


@cache
def table_sql(record_type: RecordType) -> TableSql:
    """Return the staging and upsert statements of a record type (built once, then cached)."""
    table = record_type.value
    stage = f"importer_stage_{table}"
    columns = processed_columns(record_type)
    copy_columns = (*columns, COLLECTED_AT)
    compared = tuple(c for c in columns if c not in NOT_COMPARED)
    return TableSql(
        table=table,
        stage=stage,
        columns=columns,
        compared=compared,
        create_stage=create_stage_sql(table, stage, copy_columns),
        upsert=upsert_sql(table, stage, copy_columns, compared),
        copy_columns=copy_columns,
        key_index=copy_columns.index(NATURAL_KEY),
        known_keys=known_keys_sql(table),
    )


def known_keys_sql(table: str) -> str:
    """Return the query of the natural keys among ``$1`` that ``table`` already holds.

    Served by the key's unique index (one descent per key) once the table has statistics, so
    its cost does not grow with the table.
    """
    key = quote(NATURAL_KEY)
    return f"SELECT {key} FROM {quote(table)} WHERE {key} = ANY($1::text[])"


def create_stage_sql(table: str, stage: str, columns: tuple[str, ...]) -> str:
    """Return DDL for a session temp table with the target's data columns and types.

    ``ON COMMIT DELETE ROWS`` empties it at each commit, so one table serves every chunk of a
    pooled connection; if the creating transaction rolls back, the next chunk creates it again.
    """
    cols = ", ".join(quote(c) for c in columns)
    return (
        f"CREATE TEMP TABLE IF NOT EXISTS {quote(stage)} ON COMMIT DELETE ROWS AS "
        f"SELECT {cols} FROM {quote(table)} WITH NO DATA"
    )


def upsert_sql(table: str, stage: str, columns: tuple[str, ...], compared: tuple[str, ...]) -> str:
    """Return the statement that moves the staging rows into the table, idempotently.

    Within a chunk the last occurrence of a natural key wins. A row whose data columns are all
    unchanged is not touched (not even ``updated_at``); lineage columns (``collected_at``
    among them, one value per file from the raw folder's ``meta.json``) follow the data and are
    rewritten only together with a data change. Each returned row says whether it was
    inserted; a changed price or description is recorded by the table's history trigger.
    """
    cols = ", ".join(quote(c) for c in columns)
    key = quote(NATURAL_KEY)
    assignments = [f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns if c != NATURAL_KEY]
    assignments += ["imported_at = now()", "updated_at = now()"]
    current = ", ".join(f"target.{quote(c)}" for c in compared)
    incoming = ", ".join(f"EXCLUDED.{quote(c)}" for c in compared)
    known = ", ".join(f"known.{quote(c)}" for c in compared)
    staged = ", ".join(f"incoming.{quote(c)}" for c in compared)
    # Rows known unchanged are filtered out before the insert: ON CONFLICT DO UPDATE would lock
    # (and so write) every conflicting row even when its WHERE is false. The ON CONFLICT clause
    # still decides for rows that a concurrent import changes meanwhile.
    return (
        f"INSERT INTO {quote(table)} AS target ({cols}) "
        f"SELECT {cols} FROM ("
        f"SELECT DISTINCT ON ({key}) {cols} FROM {quote(stage)} "
        f"ORDER BY {key}, {quote('record_position')} DESC NULLS LAST) AS incoming "
        f"WHERE NOT EXISTS (SELECT 1 FROM {quote(table)} AS known "
        f"WHERE known.{key} = incoming.{key} AND ({known}) IS NOT DISTINCT FROM ({staged})) "
        f"ON CONFLICT ({key}) DO UPDATE SET {', '.join(assignments)} "
        f"WHERE ({current}) IS DISTINCT FROM ({incoming}) "
        "RETURNING (xmax = 0) AS inserted"
    )


RECORD_BATCH_SQL = """
INSERT INTO import_batches
    (batch_id, record_type, processed_path, rows_total, inserted, updated, unchanged, failed,
     chunks)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (batch_id) DO UPDATE SET
    record_type = EXCLUDED.record_type,
    processed_path = EXCLUDED.processed_path,
    rows_total = EXCLUDED.rows_total,
    inserted = EXCLUDED.inserted,
    updated = EXCLUDED.updated,
    unchanged = EXCLUDED.unchanged,
    failed = EXCLUDED.failed,
    chunks = EXCLUDED.chunks,
    imported_at = now()
"""


# ---- row mapping: one JSON line (JSON types) -> one tuple of Python values asyncpg can COPY ----


def to_int(value: Any) -> int:
    """Return an integer from a JSON integer or a string of digits (never from a bool or 1.5)."""
    if isinstance(value, bool):
        raise TypeError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return int(value.strip())
    msg = f"expected an integer, got {type(value).__name__}"
    raise TypeError(msg)


_DECIMAL_SOURCES = (str, int, float)  # a tuple: an ``X | Y`` union is rebuilt at every call


def to_decimal(value: Any) -> Decimal:
    """Return a finite Decimal from a JSON string or number (the processor writes strings)."""
    if isinstance(value, bool) or not isinstance(value, _DECIMAL_SOURCES):
        msg = f"expected a decimal number, got {type(value).__name__}"
        raise TypeError(msg)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        msg = f"not a decimal number: {value!r}"
        raise ValueError(msg) from exc
    if not number.is_finite():
        msg = f"not a finite number: {value!r}"
        raise ValueError(msg)
    return number


def to_date(value: Any) -> date:
    """Return a date from an ISO ``YYYY-MM-DD`` string."""
    if not isinstance(value, str):
        msg = f"expected an ISO date string, got {type(value).__name__}"
        raise TypeError(msg)
    return date.fromisoformat(value.strip())


def to_datetime(value: Any) -> datetime:
    """Return an aware datetime from an ISO-8601 string; a naive one is taken as UTC."""
    if not isinstance(value, str):
        msg = f"expected an ISO datetime string, got {type(value).__name__}"
        raise TypeError(msg)
    moment = datetime.fromisoformat(value.strip())
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def to_text(value: Any) -> str:
    """Return a string value unchanged; anything else is refused rather than guessed."""
    if not isinstance(value, str):
        msg = f"expected a string, got {type(value).__name__}"
        raise TypeError(msg)
    return value


def to_text_list(value: Any) -> list[str]:
    """Return a list of strings from a JSON array of strings."""
    if not isinstance(value, list):
        msg = f"expected a list of strings, got {type(value).__name__}"
        raise TypeError(msg)
    return [to_text(item) for item in value]


def to_float(value: Any) -> float:
    """Return a finite float from a JSON number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"expected a number, got {type(value).__name__}"
        raise TypeError(msg)
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        msg = f"not a finite number: {value!r}"
        raise ValueError(msg)
    return number


def to_json_text(value: Any) -> str:
    """Return a JSON object as text for a jsonb column (asyncpg's COPY codec takes text)."""
    if not isinstance(value, dict):
        msg = f"expected a JSON object, got {type(value).__name__}"
        raise TypeError(msg)
    return orjson.dumps(value).decode()


Converter = Callable[[Any], Any]

CONVERTERS: Mapping[str, Converter] = {
    "year": to_int,
    "record_position": to_int,
    "price": to_decimal,
    "start_date": to_date,
    "end_date": to_date,
    "published_date": to_date,
    "processed_at": to_datetime,
    "tags": to_text_list,
    "match_score": to_float,
    "match_fields": to_text_list,
    "enrichment": to_json_text,
}
"""Columns whose values are not text; every other processed column is text."""

EMPTY_DEFAULTS: Mapping[str, Callable[[], Any]] = {"tags": list}
"""Columns where a missing value means "empty" rather than NULL."""


class RowValueError(ValueError):
    """A processed line whose values cannot become a row (kept with the column's name)."""


def to_record(columns: tuple[str, ...], line: Mapping[str, Any]) -> tuple[Any, ...]:
    """Return the values of one processed line in ``columns`` order, as Python types for COPY.

    Missing keys become NULL (the table's NOT NULL constraints then reject the row in the
    database, where it is isolated like any other bad row).

    Raises:
        RowValueError: a value has the wrong JSON type or format for its column.
    """
    values: list[Any] = []
    for column, convert, empty in _conversions(columns):
        value = line.get(column)
        if value is None:
            values.append(empty() if empty else None)
        elif convert is None and isinstance(value, str):
            values.append(value)  # a text column, the common case: no call
        else:
            try:
                values.append((convert or to_text)(value))
            except (TypeError, ValueError) as exc:
                msg = f"column {column}: {exc}"
                raise RowValueError(msg) from exc
    return tuple(values)


@cache
def _conversions(
    columns: tuple[str, ...],
) -> tuple[tuple[str, Converter | None, Callable[[], Any] | None], ...]:
    """Return (column, converter or None for text, empty default) per column, looked up once."""
    return tuple((c, CONVERTERS.get(c), EMPTY_DEFAULTS.get(c)) for c in columns)
