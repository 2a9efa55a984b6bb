"""Alert rules: their JSON form (``MONITOR_ALERT_RULES_FILE``), and what a rule finds.

A rules file is a JSON list of objects; see ``default_rules.json`` for the shipped defaults and
``docs/monitor.md`` for each kind's meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from shared.errors import ConfigError

Kind = Literal[
    "pass_rate_below",
    "stage_failing",
    "input_rejected",
    "queue_growing",
    "scrape_missing",
    "import_lag_above",
    "provider_errors_above",
    "provider_budget_above",
    "geocode_failures_above",
]
Severity = Literal["info", "warning", "critical"]


class Rule(BaseModel):
    """One configured rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_.-]{1,64}$")
    kind: Kind
    threshold: float
    window_minutes: float = Field(default=60.0, gt=0)
    severity: Severity = "warning"
    min_records: int = Field(default=1, ge=0, description="evidence needed before a rate counts")
    record_types: tuple[str, ...] = ("vehicles", "events", "articles")
    target: Literal["dead_letters", "consumers"] = "consumers"
    enabled: bool = True


_RULES = TypeAdapter(list[Rule])


def load_rules(path: Path) -> list[Rule]:
    """Return the enabled rules of a JSON rules file.

    Raises:
        ConfigError: the file is missing, not JSON, or a rule is invalid or named twice.
    """
    try:
        rules = _RULES.validate_json(path.read_bytes())
    except OSError as exc:
        msg = f"cannot read MONITOR_ALERT_RULES_FILE {path}: {exc}"
        raise ConfigError(msg) from exc
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        msg = f"invalid alert rules in {path}: {where}: {first['msg']}"
        raise ConfigError(msg) from exc
    names = [rule.name for rule in rules]
    if len(names) != len(set(names)):
        msg = f"alert rule names must be unique in {path}"
        raise ConfigError(msg)
    return [rule for rule in rules if rule.enabled]


@dataclass(frozen=True)
class Finding:
    """A condition a rule found true now, for one key (a record type, a stage, a provider...)."""

    rule: str
    key: str
    severity: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
