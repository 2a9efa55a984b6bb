"""Logs: secrets never reach a log line, whatever the code that logged them."""

from __future__ import annotations

import io
import json
import sys

import pytest
import structlog

from shared.logs import configure_logging, redact_secrets, redact_url


@pytest.mark.parametrize(
    ("key", "value", "masked"),
    [
        ("api_key", "sk-123", True),
        ("nats_password", "pw", True),
        ("X-Subscription-Token", "abc", True),
        ("webhook_secret", "s", True),
        ("tokens", 1843, False),
        ("credits", "12.5", False),
        ("path", "raw/x.json", False),
    ],
)
def test_secret_named_keys_are_masked(key: str, value: object, masked: bool) -> None:
    """Values under secret-sounding keys are masked; counts and paths are left alone."""
    out = redact_secrets(None, "info", {"event": "e", key: value})
    assert (out[key] == "***") is masked


def test_credentials_inside_text_are_masked() -> None:
    """Passwords in URLs and bearer tokens inside messages or tracebacks are masked."""
    out = redact_secrets(
        None,
        "error",
        {"event": "e", "error": "connect postgresql://app:hunter2@db/x failed; Bearer abcdefghijk"},
    )
    assert "hunter2" not in out["error"]
    assert "abcdefghijk" not in out["error"]
    assert redact_url("nats://u:p@h:4222") == "nats://u:***@h:4222"


def test_configured_logger_writes_json_without_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """A configured service logger emits one JSON line with the password masked."""
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    configure_logging("INFO")
    structlog.get_logger("t").info("db.connect", dsn="postgresql://u:topsecret@h/db")
    structlog.reset_defaults()
    line = json.loads(buffer.getvalue().strip().splitlines()[-1])
    assert line["event"] == "db.connect"
    assert "topsecret" not in buffer.getvalue()
