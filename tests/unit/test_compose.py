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


def _environment(compose: dict[str, Any], name: str) -> dict[str, str]:
    return dict(compose["services"][name].get("environment") or {})


def test_only_the_migrate_service_holds_the_owners_password(compose: dict[str, Any]) -> None:
    """The one-shot migrate service runs `pipeline migrate` as the owner; every pipeline service
    connects as its own role, never with POSTGRES_PASSWORD."""
    migrate = compose["services"]["migrate"]
    assert migrate["command"] == ["pipeline", "migrate"]
    assert migrate["restart"] == "no"
    assert "//pipeline:${POSTGRES_PASSWORD:?" in _environment(compose, "migrate")["DATABASE_URL"]
    for name in SERVICES:
        # Each service waits for the schema by itself (shared/schema_ready.py), not on the
        # container: podman-compose cannot start a service that requires an exited one.
        assert "migrate" not in compose["services"][name]["depends_on"]
        env = _environment(compose, name)
        assert "POSTGRES_PASSWORD" not in str(env), name
        if name == "collector":
            assert "DATABASE_URL" not in env  # it uses no database
            continue
        url = env["DATABASE_URL"]
        assert url.startswith(f"postgresql://${{PIPELINE_NAMESPACE:-pipeline}}_{name}:"), url
        assert f"${{{name.upper()}_DB_PASSWORD:?" in url


def test_monitor_needs_its_token(compose: dict[str, Any]) -> None:
    """The monitor binds 0.0.0.0 in its container, so compose requires MONITOR_API_TOKEN; only
    the monitor gets it, and the port is published on the host's loopback only."""
    env = _environment(compose, "monitor")
    assert env["MONITOR_API_TOKEN"].startswith("${MONITOR_API_TOKEN:?")
    assert env["MONITOR_HOST"] == "0.0.0.0"  # noqa: S104
    assert all(port.startswith("127.0.0.1:") for port in compose["services"]["monitor"]["ports"])
    for name in set(SERVICES) - {"monitor"}:
        assert "MONITOR_API_TOKEN" not in _environment(compose, name), name


def test_env_example_names_every_secret_without_a_value() -> None:
    """.env.example lists each password and the monitor token, all empty."""
    lines = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    secrets = ("POSTGRES_PASSWORD", "IMPORTER_DB_PASSWORD", "PROCESSOR_DB_PASSWORD")
    for name in (*secrets, "MONITOR_DB_PASSWORD", "MONITOR_API_TOKEN"):
        assert lines[name] == "", name


def test_pipeline_services_drop_every_capability_but_the_entrypoints(
    compose: dict[str, Any],
) -> None:
    """The services run without new privileges, with only the capabilities the entrypoint uses
    to give the data folder to PUID:PGID and switch to that user, and with memory/pid limits."""
    services = compose["services"]
    for name in SERVICES:
        service = services[name]
        assert service["security_opt"] == ["no-new-privileges:true"]
        assert service["cap_drop"] == ["ALL"]
        assert set(service["cap_add"]) == {"CHOWN", "SETUID", "SETGID"}
        assert service["mem_limit"]
        assert int(service["pids_limit"]) > 0
        assert service["environment"]["PUID"] == "${PUID:-1000}"
        assert service["read_only"] is True  # only the volume and tmpfs folders are writable
        assert set(service["tmpfs"]) >= {"/tmp", "/home/pipeline"}  # noqa: S108 - in the container
        assert service["environment"]["PGID"] == "${PGID:-1000}"


def test_env_example_names_the_data_folders_owner() -> None:
    """.env.example sets PUID and PGID (the host user the services run as)."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    assert "PUID=1000" in lines
    assert "PGID=1000" in lines


def test_image_starts_through_the_entrypoint_that_drops_root() -> None:
    """The Dockerfile runs docker/entrypoint.sh, which switches to PUID:PGID with setpriv, and
    the image has no USER line that would skip the data folder's preparation."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["pipeline-entrypoint"]' in dockerfile
    assert "COPY docker/entrypoint.sh /usr/local/bin/pipeline-entrypoint" in dockerfile
    assert not re.search(r"(?m)^USER ", dockerfile)
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text()
    assert 'exec setpriv --reuid="$PUID" --regid="$PGID" --clear-groups' in entrypoint


def test_entrypoint_runs_the_command_as_is_when_not_root(tmp_path: Path) -> None:
    """Started as a non-root user (compose `user:`, Kubernetes), the entrypoint only sets the
    umask and runs the command; it touches no folder."""
    if subprocess.run(["id", "-u"], capture_output=True, text=True, check=True).stdout == "0\n":
        command = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
    else:
        command = []
    data = tmp_path / "absent"
    result = subprocess.run(
        [*command, "sh", str(ROOT / "docker" / "entrypoint.sh"), "sh", "-c", "umask; id -u"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(data)},
    )
    assert result.returncode == 0, result.stderr
    mask, uid = result.stdout.split()
    assert mask == "0002"
    assert uid != "0"
    assert not data.exists()
