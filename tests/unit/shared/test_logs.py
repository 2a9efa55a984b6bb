"""Logs: secrets never reach a log line, whatever the code that logged them."""

from __future__ import annotations

import io
import json
import logging
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


def test_every_url_of_a_cluster_list_is_masked() -> None:
    """``NATS_URL`` may list a cluster: each server's password is masked, not only the first."""
    cluster = "nats://u:pw1@a:4222, nats://u:pw2@b:4222,nats://c:4222,tls://v:pw3@d:4222"
    assert redact_url(cluster) == (
        "nats://u:***@a:4222,nats://u:***@b:4222,nats://c:4222,tls://v:***@d:4222"
    )


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


@pytest.mark.parametrize("library", ["asyncpg", "aiohttp.client", "nats.aio.client", "watchdog"])
def test_a_library_line_is_json_with_the_secret_masked(
    library: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A standard-library logger's line is one JSON object like ours, its secrets masked."""
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    configure_logging("INFO")
    try:
        logging.getLogger(library).warning(
            "cannot connect to %s with password=hunter2", "postgresql://u:pg-pass-123@h/db"
        )
        try:
            raise ConnectionError("token=abc123 rejected")
        except ConnectionError:
            logging.getLogger(library).exception("reconnect failed")
    finally:
        structlog.reset_defaults()
    lines = [json.loads(line) for line in buffer.getvalue().strip().splitlines()]
    assert [line["event"] for line in lines] == [
        "cannot connect to postgresql://u:***@h/db with password=***",
        "reconnect failed",
    ]
    assert {line["level"] for line in lines} == {"warning", "error"}
    assert all(line["logger"] == library and "timestamp" in line for line in lines)
    assert "ConnectionError" in lines[1]["exception"]
    assert "pg-pass-123" not in buffer.getvalue()
    assert "hunter2" not in buffer.getvalue()
    assert "abc123" not in buffer.getvalue()


def test_library_lines_below_warning_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Libraries' chatter below WARNING stays out, as before."""
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    configure_logging("INFO")
    logging.getLogger("aiohttp.access").info("GET /metrics 200")
    structlog.reset_defaults()
    assert buffer.getvalue() == ""
