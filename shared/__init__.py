"""Code every service needs: settings, models, subjects, the bus, storage, database and logging."""

PIPELINE_VERSION = "0.1.0"
