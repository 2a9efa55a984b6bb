"""What to collect: a JSON file of jobs per record type (``COLLECTOR_SOURCES_FILE``).

The shipped default (``default_sources.json``) targets classic cars. A job names its provider
and what to ask it; provider-specific fields sit beside the common ones, e.g.::

    {"vehicles": [
        {"provider": "apify", "actor": "someone~bat-scraper", "input": {"maxItems": 50}},
        {"provider": "brave", "query": "1967 mustang fastback for sale", "pages": 2}
    ]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import ConfigError
from shared.events import RecordType


class SourceJob(BaseModel):
    """One thing to ask one provider during a collection run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str
    query: str | None = None
    actor: str | None = Field(default=None, description="apify actor id or user~name")
    dataset: str | None = Field(default=None, description="apify dataset id to read instead")
    input: dict[str, Any] = Field(default_factory=dict, description="apify actor input")
    mode: str = Field(default="search", description="tavily search|extract, jina search|read")
    urls: list[str] = Field(default_factory=list, description="tavily extract / jina read")
    url: str | None = Field(default=None, description="feed URL")
    items_key: str | None = Field(default=None, description="feed: key of the list of items")
    domains: list[str] = Field(default_factory=list)
    pages: int = Field(default=1, ge=1, le=10)
    count: int = Field(default=20, ge=1, le=100)
    model: str = Field(default="sonar-pro", description="perplexity model")
    options: dict[str, Any] = Field(default_factory=dict, description="extra provider params")

    def label(self) -> str:
        """Return a short human description of the job (for meta.json and events)."""
        return self.query or self.actor or self.dataset or self.url or ",".join(self.urls) or ""


class Catalog(BaseModel):
    """Every job, by record type."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vehicles: list[SourceJob] = Field(default_factory=list)
    events: list[SourceJob] = Field(default_factory=list)
    articles: list[SourceJob] = Field(default_factory=list)

    def jobs(self, record_type: RecordType, provider: str | None = None) -> list[SourceJob]:
        """Return the jobs of a record type, optionally of one provider only."""
        jobs: list[SourceJob] = getattr(self, record_type.value)
        return [j for j in jobs if provider is None or j.provider == provider]


def load_catalog(path: Path) -> Catalog:
    """Read and validate a sources file.

    Raises:
        ConfigError: the file is missing or not a valid catalog (one actionable line).
    """
    try:
        return Catalog.model_validate(orjson.loads(path.read_bytes()))
    except (OSError, orjson.JSONDecodeError, ValidationError) as exc:
        msg = f"COLLECTOR_SOURCES_FILE {path} is unusable: {exc}"
        raise ConfigError(msg) from exc
