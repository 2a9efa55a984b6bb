"""Alerting: rules evaluated against the monitor's tables, state in PostgreSQL, webhooks out."""
