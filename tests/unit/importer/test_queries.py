"""The importer's SQL text, built from the processed column lists."""

from __future__ import annotations

import pytest

from services.importer import queries
from shared.events import RecordType
from shared.records import LINEAGE_FIELDS, processed_columns


@pytest.mark.parametrize("record_type", list(RecordType))
def test_statements_cover_every_processed_column(record_type: RecordType) -> None:
    """The staging table and the upsert name each processed column, then collected_at, in order."""
    sql = queries.table_sql(record_type)
    quoted = ", ".join(f'"{c}"' for c in processed_columns(record_type)) + ', "collected_at"'
    assert sql.columns == processed_columns(record_type)
    assert sql.copy_columns == (*processed_columns(record_type), "collected_at")
    assert sql.copy_columns[sql.key_index] == "data_hash"
    assert f'SELECT {quoted} FROM "{record_type.value}"' in sql.create_stage
    assert f'INSERT INTO "{record_type.value}" AS target ({quoted})' in sql.upsert
    assert f'SELECT {quoted} FROM (SELECT DISTINCT ON ("data_hash") {quoted} FROM' in sql.upsert
    assert '"collected_at" = EXCLUDED."collected_at"' in sql.upsert


@pytest.mark.parametrize("record_type", list(RecordType))
def test_known_keys_probe_uses_the_natural_key(record_type: RecordType) -> None:
    """The probe for existing keys takes one text array and matches the natural key only."""
    probe = queries.table_sql(record_type).known_keys
    assert probe == (
        f'SELECT "data_hash" FROM "{record_type.value}" WHERE "data_hash" = ANY($1::text[])'
    )


@pytest.mark.parametrize("record_type", list(RecordType))
def test_compared_columns_exclude_lineage_key_and_derived_context(record_type: RecordType) -> None:
    """Only data columns decide whether a row changed; lineage, key and enrichment do not."""
    compared = queries.table_sql(record_type).compared
    ignored = {*LINEAGE_FIELDS, "data_hash", "enrichment"}
    assert not set(compared) & ignored
    assert set(compared) | ignored == set(processed_columns(record_type))


def test_upsert_is_idempotent_and_keeps_last_duplicate() -> None:
    """The upsert dedupes a chunk on the key and skips rows whose data did not change."""
    upsert = queries.table_sql(RecordType.VEHICLES).upsert
    assert 'SELECT DISTINCT ON ("data_hash")' in upsert
    assert 'ORDER BY "data_hash", "record_position" DESC NULLS LAST' in upsert
    assert 'ON CONFLICT ("data_hash") DO UPDATE SET' in upsert
    assert 'WHERE (target."source_name", target."source_url", target."make"' in upsert
    assert 'IS DISTINCT FROM (EXCLUDED."source_name"' in upsert
    assert upsert.endswith("RETURNING (xmax = 0) AS inserted")


def test_upsert_skips_known_unchanged_rows_before_locking_them() -> None:
    """Rows whose data columns equal the stored ones are filtered out before ON CONFLICT."""
    upsert = queries.table_sql(RecordType.VEHICLES).upsert
    assert 'WHERE NOT EXISTS (SELECT 1 FROM "vehicles" AS known' in upsert
    assert 'known."data_hash" = incoming."data_hash"' in upsert
    assert 'IS NOT DISTINCT FROM (incoming."source_name"' in upsert


def test_upsert_rewrites_lineage_but_never_the_key() -> None:
    """Lineage columns and the timestamps are set on a change; data_hash is never reassigned."""
    upsert = queries.table_sql(RecordType.EVENTS).upsert
    set_clause = upsert.split(" DO UPDATE SET ")[1].split(" WHERE ")[0]
    assert '"batch_id" = EXCLUDED."batch_id"' in set_clause
    assert '"processed_at" = EXCLUDED."processed_at"' in set_clause
    assert "updated_at = now()" in set_clause
    assert '"data_hash" =' not in set_clause


def test_stage_is_a_session_temp_table_emptied_at_commit() -> None:
    """The staging table is created once per connection and emptied by every commit."""
    create = queries.table_sql(RecordType.ARTICLES).create_stage
    assert create.startswith('CREATE TEMP TABLE IF NOT EXISTS "importer_stage_articles"')
    assert "ON COMMIT DELETE ROWS" in create
    assert create.endswith("WITH NO DATA")


@pytest.mark.parametrize("name", ["a-b", "x; DROP TABLE y", "", "Upper", "1abc"])
def test_quote_refuses_unsafe_identifiers(name: str) -> None:
    """Only plain lower-case identifiers can reach the SQL text."""
    with pytest.raises(ValueError, match="not a safe SQL identifier"):
        queries.quote(name)
