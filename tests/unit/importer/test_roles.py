"""Per-service role settings and names, without a server."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.importer import roles


def test_passwords_that_would_break_a_connection_url_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A password with URL syntax in it ('@', '/', ':') or shorter than 16 is refused, naming
    the variable; an empty one means 'no role for that service'."""
    for bad in ("p@ssword-p@ssword", "a/b" * 8, "short"):
        monkeypatch.setenv("MONITOR_DB_PASSWORD", bad)
        with pytest.raises(ValidationError, match="at least 16 characters"):
            roles.RolePasswords()
    monkeypatch.setenv("MONITOR_DB_PASSWORD", "")
    monkeypatch.setenv("IMPORTER_DB_PASSWORD", "0123456789abcdef-_.~")
    monkeypatch.delenv("PROCESSOR_DB_PASSWORD", raising=False)
    assert list(roles.RolePasswords().given()) == ["importer"]


def test_tables_belong_to_the_service_their_name_starts_with() -> None:
    """processor_* and monitor_* are those services'; the rest is the importer's data."""
    assert roles.owner_of("processor_geocache") == "processor"
    assert roles.owner_of("monitor_events_id_seq") == "monitor"
    assert roles.owner_of("vehicles") == "importer"
    assert roles.owner_of("field_history") == "importer"
    assert roles.role_name("pipeline", "monitor") == "pipeline_monitor"


def test_scram_verifier_has_postgresql_form() -> None:
    """SCRAM-SHA-256$4096:<salt>$<stored key>:<server key>; a fresh salt each time."""
    first, second = roles.scram_verifier("x" * 16), roles.scram_verifier("x" * 16)
    assert first.startswith("SCRAM-SHA-256$4096:")
    assert first != second
    assert roles.scram_verifier("x" * 16, b"0" * 16) == roles.scram_verifier("x" * 16, b"0" * 16)
