"""The importer: loads processed batches into PostgreSQL in chunked, idempotent transactions."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
"""The data schema's migrations (here, so the monitor can name them without loading the schema
module, which imports the processor's matching code)."""
