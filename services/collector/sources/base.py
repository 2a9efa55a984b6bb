"""What every client module shares: its configuration and its signature."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from services.collector.sources.catalog import SourceJob
from services.collector.sources.http import Caller
from shared.events import RecordType

Item = dict[str, Any]


@dataclass(frozen=True)
class Endpoint:
    """Where a provider lives and the key to use (never logged: ``SecretStr``)."""

    base_url: str
    key: SecretStr | None = None
    extra_urls: dict[str, str] = field(default_factory=dict)
    timeout_s: float | None = None

    def url(self, path: str, base: str | None = None) -> str:
        """Return ``base_url`` (or a named extra base) joined with ``path``."""
        root = self.extra_urls[base] if base else self.base_url
        return root.rstrip("/") + "/" + path.lstrip("/")

    def bearer(self) -> dict[str, str]:
        """Return an ``Authorization: Bearer`` header, or nothing without a key."""
        if self.key is None:
            return {}
        return {"Authorization": f"Bearer {self.key.get_secret_value()}"}


@dataclass
class Outcome:
    """What a client returns: the items verbatim, plus problems that did not stop it."""

    items: list[Item] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


Client = Callable[[Caller, Endpoint, SourceJob, RecordType], Awaitable[Outcome]]
