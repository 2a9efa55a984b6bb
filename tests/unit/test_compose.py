"""compose.yaml is valid, runs the same commands as the local runner, and holds no credential."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.runner import SERVICES, service_command

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT.parent / "shared" / "schemas" / "compose-spec.json"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """Return compose.yaml parsed."""
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_validates_against_the_compose_spec() -> None:
    """check-jsonschema accepts compose.yaml against the provided Compose Specification schema."""
    assert SCHEMA.exists(), f"schema missing at {SCHEMA}"
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--schemafile", str(SCHEMA), str(ROOT / "compose.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_service_container_runs_the_local_runner_command(compose: dict[str, Any]) -> None:
    """Every pipeline service runs `python -m services.<name>`, as `pipeline up` does."""
    services = compose["services"]
    for name in SERVICES:
        assert services[name]["command"] == service_command(name)
    assert set(SERVICES) <= set(services)


def test_pipeline_services_wait_for_healthy_infrastructure(compose: dict[str, Any]) -> None:
    """The four services start only after NATS and PostgreSQL report healthy."""
    services = compose["services"]
    assert "-js" in services["nats"]["command"]
    for name in ("nats", "postgres"):
        assert "healthcheck" in services[name]
    for name in SERVICES:
        depends = services[name]["depends_on"]
        assert depends["nats"]["condition"] == "service_healthy"
        assert depends["postgres"]["condition"] == "service_healthy"


def test_no_credential_has_a_default(compose: dict[str, Any]) -> None:
    """Every password in compose.yaml comes from a required variable (${VAR:?...})."""
    text = (ROOT / "compose.yaml").read_text()
    for match in re.finditer(r"(?i)password[^\n]*", text):
        line = match.group(0)
        if "${" in line or line.lstrip().startswith("#"):
            assert ":?" in line or "#" in line, line
    assert (
        "${POSTGRES_PASSWORD:?"
        in compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    )
