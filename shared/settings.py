"""Infrastructure settings shared by every service, read once from the environment.

Shared infrastructure uses unprefixed variables (``NATS_URL``, ``DATABASE_URL``, ``DATA_DIR``,
``PIPELINE_NAMESPACE``); service knobs live in each service's ``config.py`` with its own prefix.
No credential has a default: a DSN with a password comes only from the environment.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared import setting_checks
from shared.netguard import UrlPolicy

_NAMESPACE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class PipelineSettings(BaseSettings):
    """What every service reads: NATS, PostgreSQL, the data folder and the namespace."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    nats_url: str = Field(default="nats://127.0.0.1:4222", validation_alias="NATS_URL")
    nats_stream_replicas: int = Field(
        default=1, ge=1, le=5, validation_alias="NATS_STREAM_REPLICAS"
    )
    nats_user: str | None = Field(default=None, validation_alias="NATS_USER")
    nats_password: SecretStr | None = Field(default=None, validation_alias="NATS_PASSWORD")
    nats_token: SecretStr | None = Field(default=None, validation_alias="NATS_TOKEN")
    migration_database_url: SecretStr | None = Field(
        default=None, validation_alias="MIGRATION_DATABASE_URL"
    )
    nats_creds: Path | None = Field(default=None, validation_alias="NATS_CREDS")
    nats_tls_ca: Path | None = Field(default=None, validation_alias="NATS_TLS_CA")
    nats_tls_cert: Path | None = Field(default=None, validation_alias="NATS_TLS_CERT")
    nats_tls_key: Path | None = Field(default=None, validation_alias="NATS_TLS_KEY")
    database_url: SecretStr = Field(validation_alias="DATABASE_URL")
    data_dir: Path = Field(default=Path("./data"), validation_alias="DATA_DIR")
    namespace: str = Field(default="pipeline", validation_alias="PIPELINE_NAMESPACE")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    connect_wait_s: float = Field(default=15.0, gt=0, validation_alias="CONNECT_WAIT_S")
    startup_wait_s: float = Field(default=300.0, ge=0, validation_alias="STARTUP_WAIT_S")
    """How long a service waits at start for NATS and PostgreSQL that are not up yet, then exits 2
    (the container's restart policy starts it again); 0 tries once."""
    allow_private_urls: bool = Field(default=False, validation_alias="ALLOW_PRIVATE_URLS")
    allowed_url_hosts: str = Field(default="", validation_alias="ALLOWED_URL_HOSTS")
    heartbeat_s: float = Field(default=5.0, gt=0, validation_alias="HEARTBEAT_S")
    shutdown_grace_s: float = Field(default=20.0, gt=0, validation_alias="SHUTDOWN_GRACE_S")
    # How long a service that may not migrate waits for the owner's migration at start.
    schema_wait_s: float = Field(default=120.0, gt=0, validation_alias="SCHEMA_WAIT_S")

    @field_validator("namespace")
    @classmethod
    def _check_namespace(cls, value: str) -> str:
        if not _NAMESPACE_RE.match(value):
            msg = "PIPELINE_NAMESPACE must be 1-40 chars of a-z, 0-9, '_' or '-', starting alnum"
            raise ValueError(msg)
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        return setting_checks.log_level(value)

    @property
    def owner_database_url(self) -> SecretStr:
        """Return the DSN migrations run with: ``MIGRATION_DATABASE_URL``, else ``DATABASE_URL``.

        Services work with ``DATABASE_URL`` (a role that cannot change the schema); only
        migrations need the owner.
        """
        return self.migration_database_url or self.database_url

    @property
    def nats_servers(self) -> list[str]:
        """Return the NATS servers: ``NATS_URL`` may list several, comma-separated (a cluster)."""
        return [url.strip() for url in self.nats_url.split(",") if url.strip()]

    def url_policy(self) -> UrlPolicy:
        """Return the outbound URL policy (feeds, images, webhooks) from the settings."""
        hosts = frozenset(h.strip().lower() for h in self.allowed_url_hosts.split(",") if h.strip())
        return UrlPolicy(allow_private=self.allow_private_urls, allowed_hosts=hosts)

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()
