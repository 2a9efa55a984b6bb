"""The monitor: follows every event of the namespace into PostgreSQL, Prometheus counters and reports."""
