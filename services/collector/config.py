"""Collector settings: shared infrastructure, inbox timing, providers, schedule, retention.

Every knob is a ``COLLECTOR_*`` variable. API keys are ``SecretStr`` without defaults; a provider
whose key is missing is skipped (and logged) when a run asks for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator

from shared import setting_checks
from shared.settings import PipelineSettings

from .sources.http import MAX_BODY_BYTES

PROVIDERS = ("apify", "brave", "tavily", "perplexity", "jina", "feed")

PROXY_SCHEMES = ("http", "https")

DEFAULT_SOURCES_FILE = Path(__file__).parent / "sources" / "default_sources.json"


def _alias(name: str) -> str:
    return f"COLLECTOR_{name.upper()}"


class CollectorSettings(PipelineSettings):
    """What the collector reads from the environment on top of the shared settings."""

    # The collector uses no database: under compose it gets no DATABASE_URL and no role.
    database_url: SecretStr | None = Field(  # type: ignore[assignment]
        default=None, validation_alias="DATABASE_URL"
    )

    collector_stable_s: float = Field(default=1.0, gt=0, validation_alias="COLLECTOR_STABLE_S")
    collector_rescan_s: float = Field(default=30.0, gt=0, validation_alias="COLLECTOR_RESCAN_S")

    # --- provider keys (secrets, never logged, no defaults) ---
    apify_api_key: SecretStr | None = Field(default=None, validation_alias=_alias("apify_api_key"))
    brave_api_key: SecretStr | None = Field(default=None, validation_alias=_alias("brave_api_key"))
    tavily_api_key: SecretStr | None = Field(
        default=None, validation_alias=_alias("tavily_api_key")
    )
    perplexity_api_key: SecretStr | None = Field(
        default=None, validation_alias=_alias("perplexity_api_key")
    )
    jina_api_key: SecretStr | None = Field(default=None, validation_alias=_alias("jina_api_key"))

    # --- base URLs (tests and proxies override them) ---
    apify_base_url: str = Field(
        default="https://api.apify.com", validation_alias=_alias("apify_base_url")
    )
    brave_base_url: str = Field(
        default="https://api.search.brave.com/res/v1", validation_alias=_alias("brave_base_url")
    )
    tavily_base_url: str = Field(
        default="https://api.tavily.com", validation_alias=_alias("tavily_base_url")
    )
    perplexity_base_url: str = Field(
        default="https://api.perplexity.ai", validation_alias=_alias("perplexity_base_url")
    )
    jina_reader_base_url: str = Field(
        default="https://r.jina.ai", validation_alias=_alias("jina_reader_base_url")
    )
    jina_search_base_url: str = Field(
        default="https://s.jina.ai", validation_alias=_alias("jina_search_base_url")
    )

    # --- what to collect, how much per file ---
    sources_file: Path = Field(
        default=DEFAULT_SOURCES_FILE, validation_alias=_alias("sources_file")
    )
    max_records_per_file: int = Field(
        default=500, gt=0, validation_alias=_alias("max_records_per_file")
    )

    # --- politeness and robustness ---
    rate_per_s: str = Field(
        default="apify=1,brave=1,tavily=1.5,perplexity=0.8,jina=3,feed=2",
        validation_alias=_alias("rate_per_s"),
        description="tokens per second per provider, name=rate comma list",
    )
    burst: float = Field(default=2.0, gt=0, validation_alias=_alias("burst"))
    max_concurrency: int = Field(default=4, gt=0, validation_alias=_alias("max_concurrency"))
    http_timeout_s: float = Field(default=60.0, gt=0, validation_alias=_alias("http_timeout_s"))
    apify_timeout_s: float = Field(default=360.0, gt=0, validation_alias=_alias("apify_timeout_s"))
    max_response_bytes: int = Field(
        default=MAX_BODY_BYTES, ge=1024, validation_alias=_alias("max_response_bytes")
    )
    """The largest provider or feed answer read; a larger one fails its run with a clear error."""
    retry_attempts: int = Field(default=5, gt=0, validation_alias=_alias("retry_attempts"))
    retry_max_wait_s: float = Field(default=60.0, gt=0, validation_alias=_alias("retry_max_wait_s"))
    retry_base_s: float = Field(default=0.5, ge=0, validation_alias=_alias("retry_base_s"))
    proxies: str = Field(default="", validation_alias=_alias("proxies"))
    proxy_fail_limit: int = Field(default=3, gt=0, validation_alias=_alias("proxy_fail_limit"))
    proxy_rest_s: float = Field(default=300.0, gt=0, validation_alias=_alias("proxy_rest_s"))

    # --- schedule ---
    timezone: str = Field(default="America/Los_Angeles", validation_alias=_alias("timezone"))
    missed_slots: Literal["run", "skip"] = Field(
        default="run", validation_alias=_alias("missed_slots")
    )
    schedule_enabled: bool = Field(default=True, validation_alias=_alias("schedule_enabled"))
    cron_vehicles: str = Field(default="0 2 * * *", validation_alias=_alias("cron_vehicles"))
    cron_events: str = Field(default="0 3 * * *", validation_alias=_alias("cron_events"))
    cron_articles: str = Field(default="0 4 * * 0", validation_alias=_alias("cron_articles"))
    cron_process: str = Field(default="15 * * * *", validation_alias=_alias("cron_process"))
    cron_import: str = Field(default="0 */2 * * *", validation_alias=_alias("cron_import"))
    cron_cleanup: str = Field(default="0 0 * * *", validation_alias=_alias("cron_cleanup"))

    # --- clean-up ---
    retention_days: int = Field(default=30, gt=0, validation_alias=_alias("retention_days"))
    failed_retention_days: int = Field(
        default=90, gt=0, validation_alias=_alias("failed_retention_days")
    )

    @field_validator(
        "cron_vehicles",
        "cron_events",
        "cron_articles",
        "cron_process",
        "cron_import",
        "cron_cleanup",
    )
    @classmethod
    def _check_cron(cls, value: str) -> str:
        return setting_checks.cron_expression(value)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        setting_checks.time_zone(value)
        return value

    @field_validator("rate_per_s")
    @classmethod
    def _check_rates(cls, value: str) -> str:
        setting_checks.rate_map(value, PROVIDERS)
        return value

    @field_validator("proxies")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        setting_checks.url_list(value, PROXY_SCHEMES)
        return value

    @property
    def collector_poll_s(self) -> float:
        """Return how often a waiting file is stat-ed: a few times per stability period."""
        return min(0.25, self.collector_stable_s / 4)

    @property
    def collector_writing_stable_s(self) -> float:
        """Return how long a file still marked open-for-writing must be unchanged.

        The mark is cleared by the close event; if that event was lost, the file is still
        collected once it has not changed for a whole re-scan period.
        """
        return max(self.collector_stable_s, self.collector_rescan_s)

    def api_key(self, provider: str) -> SecretStr | None:
        """Return the configured key of a provider (``None`` for key-less ones or when unset)."""
        key = getattr(self, f"{provider}_api_key", None)
        return key if isinstance(key, SecretStr) else None

    def rates(self) -> dict[str, float]:
        """Return the configured token rate per provider (checked when the settings load)."""
        return setting_checks.rate_map(self.rate_per_s, PROVIDERS)

    def proxy_list(self) -> list[str]:
        """Return the proxy URLs of ``COLLECTOR_PROXIES`` (empty: direct connections)."""
        return setting_checks.url_list(self.proxies, PROXY_SCHEMES)

    def zone(self) -> ZoneInfo:
        """Return the schedule's time zone (checked when the settings load)."""
        return setting_checks.time_zone(self.timezone)

    def crons(self) -> dict[str, str]:
        """Return the cron expression of every scheduled job, by job name."""
        return {
            "scrape_vehicles": self.cron_vehicles,
            "scrape_events": self.cron_events,
            "scrape_articles": self.cron_articles,
            "process_redrive": self.cron_process,
            "import_redrive": self.cron_import,
            "cleanup": self.cron_cleanup,
        }
