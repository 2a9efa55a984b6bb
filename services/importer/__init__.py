"""The importer: loads processed batches into PostgreSQL in chunked, idempotent transactions."""
