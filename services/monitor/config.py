"""Monitor settings: the shared infrastructure plus the HTTP address and consumer limits."""

from __future__ import annotations

from pydantic import Field

from shared.settings import PipelineSettings


class MonitorSettings(PipelineSettings):
    """What the monitor reads from the environment (``MONITOR_*`` on top of the shared settings)."""

    monitor_host: str = Field(default="127.0.0.1", validation_alias="MONITOR_HOST")
    monitor_port: int = Field(default=8080, ge=0, le=65535, validation_alias="MONITOR_PORT")
    monitor_max_in_flight: int = Field(default=16, ge=1, validation_alias="MONITOR_MAX_IN_FLIGHT")
    # The monitor should outlast a database outage rather than dead-letter telemetry: with the bus
    # backoff capped at 60 s, 100 deliveries is about 1.5 hours.
    monitor_max_deliver: int = Field(default=100, ge=1, validation_alias="MONITOR_MAX_DELIVER")
