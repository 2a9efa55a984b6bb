"""Alert configuration and webhook bodies: rules files, target parsing, formats and signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from pydantic import SecretStr

from services.monitor.alerts.checks import CHECKS
from services.monitor.alerts.rules import load_rules
from services.monitor.alerts.webhooks import Notification, Target, body_for, parse_targets, sign
from services.monitor.config import DEFAULT_RULES_FILE
from shared.errors import ConfigError

AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
NOTE = Notification(
    "firing", "stage_failing", "processor", "critical", "processor: 2 <failures> & more",
    {"failures": 2}, AT, AT,
)  # fmt: skip


def test_shipped_default_rules_load_and_cover_every_kind() -> None:
    """The default rules file is valid and has a rule for each kind of check."""
    rules = load_rules(DEFAULT_RULES_FILE)
    assert {rule.kind for rule in rules} == set(CHECKS)
    assert len({rule.name for rule in rules}) == len(rules)


def test_rules_file_problems_are_one_config_error(tmp_path: Path) -> None:
    """A missing file, an unknown kind or a repeated name is a ConfigError naming the problem."""
    with pytest.raises(ConfigError, match="cannot read"):
        load_rules(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "x", "kind": "nonsense", "threshold": 1}]))
    with pytest.raises(ConfigError, match=r"0\.kind"):
        load_rules(bad)
    twice = tmp_path / "twice.json"
    rule = {"name": "x", "kind": "stage_failing", "threshold": 1}
    twice.write_text(json.dumps([rule, rule]))
    with pytest.raises(ConfigError, match="unique"):
        load_rules(twice)


def test_disabled_rules_are_dropped(tmp_path: Path) -> None:
    """A rule with enabled=false is not loaded."""
    path = tmp_path / "rules.json"
    path.write_text(
        json.dumps(
            [
                {"name": "a", "kind": "stage_failing", "threshold": 1},
                {"name": "b", "kind": "stage_failing", "threshold": 1, "enabled": False},
            ]
        )
    )
    assert [rule.name for rule in load_rules(path)] == ["a"]


def test_parse_targets_reads_prefixes_and_guesses_slack() -> None:
    """Items are 'slack=URL', 'generic=URL' or a bare URL (Slack when the host is Slack's)."""
    spec = (
        "slack=http://127.0.0.1:9/a, generic=https://x.example/h?a=b,"
        "https://hooks.slack.com/services/T/B/C,https://other.example/x=1"
    )
    assert parse_targets(spec) == [
        Target("http://127.0.0.1:9/a", "slack"),
        Target("https://x.example/h?a=b", "generic"),
        Target("https://hooks.slack.com/services/T/B/C", "slack"),
        Target("https://other.example/x=1", "generic"),
    ]
    assert parse_targets("") == []
    with pytest.raises(ConfigError, match="http"):
        parse_targets("ftp://x.example/hook")


def test_slack_body_is_text_with_slack_escaping() -> None:
    """The Slack body is {"text": ...} with &, < and > escaped as Slack requires."""
    body = orjson.loads(body_for("slack", NOTE, "prod"))
    assert list(body) == ["text"]
    assert "[FIRING] critical stage_failing (processor) in prod" in body["text"]
    assert "2 &lt;failures&gt; &amp; more" in body["text"]


def test_generic_body_carries_every_field() -> None:
    """The generic body names the status, rule, key, severity, details and times."""
    body = orjson.loads(body_for("generic", NOTE, "prod"))
    assert body == {
        "event": "alert.firing",
        "status": "firing",
        "namespace": "prod",
        "rule": "stage_failing",
        "key": "processor",
        "severity": "critical",
        "message": "processor: 2 <failures> & more",
        "details": {"failures": 2},
        "first_fired_at": AT.isoformat(),
        "sent_at": AT.isoformat(),
    }


def test_signature_is_hmac_sha256_of_the_body() -> None:
    """The signature header value is sha256=<hex HMAC-SHA256 of the exact body>."""
    body = b'{"text":"x"}'
    expected = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert sign(body, SecretStr("k")) == f"sha256={expected}"
