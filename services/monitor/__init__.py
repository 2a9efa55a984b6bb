"""The monitor: follows every event of the namespace into PostgreSQL, counters and reports."""
