"""Monitor settings: the shared infrastructure plus HTTP, consumer limits, polling and alerts."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from services.monitor.access import Access, allowed_hosts, is_loopback
from services.monitor.alerts.webhooks import parse_targets
from shared.errors import ConfigError
from shared.settings import PipelineSettings

DEFAULT_RULES_FILE = Path(__file__).parent / "alerts" / "default_rules.json"
MIN_TOKEN_LENGTH = 16


class MonitorSettings(PipelineSettings):
    """What the monitor reads from the environment (``MONITOR_*`` on top of the shared settings)."""

    monitor_host: str = Field(default="127.0.0.1", validation_alias="MONITOR_HOST")
    api_token: SecretStr | None = Field(default=None, validation_alias="MONITOR_API_TOKEN")
    # Host names (a reverse proxy's, a container's) a request may name besides loopback.
    allowed_hosts: str = Field(default="", validation_alias="MONITOR_ALLOWED_HOSTS")
    # Mark the login cookie Secure even when the request reached the monitor over plain http
    # (TLS ends at a reverse proxy in front of it).
    cookie_secure: bool = Field(default=False, validation_alias="MONITOR_COOKIE_SECURE")
    monitor_port: int = Field(default=8080, ge=0, le=65535, validation_alias="MONITOR_PORT")
    monitor_max_in_flight: int = Field(default=16, ge=1, validation_alias="MONITOR_MAX_IN_FLIGHT")
    # The monitor should outlast a database outage rather than dead-letter telemetry: with the bus
    # backoff capped at 60 s, 100 deliveries is about 1.5 hours.
    monitor_max_deliver: int = Field(default=100, ge=1, validation_alias="MONITOR_MAX_DELIVER")
    # How often the monitor samples JetStream consumer lag and evaluates the alert rules.
    poll_s: float = Field(default=30.0, gt=0, validation_alias="MONITOR_POLL_S")
    alert_rules_file: Path = Field(
        default=DEFAULT_RULES_FILE, validation_alias="MONITOR_ALERT_RULES_FILE"
    )
    alert_cooldown_s: float = Field(
        default=900.0, ge=0, validation_alias="MONITOR_ALERT_COOLDOWN_S"
    )
    webhook_urls: str = Field(default="", validation_alias="MONITOR_WEBHOOK_URLS")
    webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="MONITOR_WEBHOOK_SECRET"
    )
    webhook_timeout_s: float = Field(
        default=5.0, gt=0, validation_alias="MONITOR_WEBHOOK_TIMEOUT_S"
    )
    webhook_attempts: int = Field(default=4, ge=1, validation_alias="MONITOR_WEBHOOK_ATTEMPTS")
    webhook_backoff_s: float = Field(
        default=1.0, ge=0, validation_alias="MONITOR_WEBHOOK_BACKOFF_S"
    )
    queue_sample_keep_days: int = Field(
        default=14, ge=1, validation_alias="MONITOR_QUEUE_KEEP_DAYS"
    )

    @field_validator("webhook_urls")
    @classmethod
    def _check_webhook_urls(cls, value: str) -> str:
        try:
            parse_targets(value)
        except ConfigError as exc:
            raise ValueError(str(exc).removeprefix("MONITOR_WEBHOOK_URLS: ")) from exc
        return value

    @field_validator("api_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_TOKEN_LENGTH:
            msg = f"must be at least {MIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 32)"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _token_when_reachable(self) -> MonitorSettings:
        if self.api_token is None and not is_loopback(self.monitor_host):
            msg = (
                f"MONITOR_HOST={self.monitor_host} is reachable from other machines: "
                "set MONITOR_API_TOKEN, or bind to 127.0.0.1"
            )
            raise ValueError(msg)
        return self

    def access(self) -> Access:
        """Return the HTTP access policy: token, allowed Host names, cookie flag."""
        hosts = allowed_hosts(self.monitor_host, self.allowed_hosts)
        return Access(self.api_token, hosts, self.cookie_secure)
