"""Settings that are parsed are checked when they load: a typo stops the start, naming itself."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from services.collector.config import CollectorSettings
from services.monitor.config import MonitorSettings
from services.processor.config import ProcessorSettings
from shared import lifecycle

ROOT = Path(__file__).resolve().parents[3]
UNREACHABLE_DSN = "postgresql://app:hunter2@127.0.0.1:1/none"


def test_a_bad_cron_stops_the_collector_naming_the_variable_and_value(tmp_path: Path) -> None:
    """The collector exits 2 before connecting; stderr and the JSON log name variable and value."""
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": UNREACHABLE_DSN,
        "DATA_DIR": str(tmp_path),
        "COLLECTOR_CRON_VEHICLES": "0 25 * * *",
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.collector"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "COLLECTOR_CRON_VEHICLES" in done.stderr
    assert "'0 25 * * *'" in done.stderr
    logged = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    unusable = [line for line in logged if line["event"] == "service.unusable"]
    assert unusable, done.stdout
    assert "COLLECTOR_CRON_VEHICLES" in json.dumps(unusable[0])
    assert "hunter2" not in done.stdout + done.stderr


NO_MAPS, NO_RULES = "/nonexistent/maps.json", "/nonexistent/rules.json"


@pytest.mark.parametrize(
    ("settings", "variable", "value", "shown"),
    [
        (CollectorSettings, "COLLECTOR_CRON_EVENTS", "0 3 * *", "0 3 * *"),
        (CollectorSettings, "COLLECTOR_CRON_CLEANUP", "0 0 31 2 *", "0 0 31 2 *"),
        (CollectorSettings, "COLLECTOR_TIMEZONE", "Europe/Berln", "Europe/Berln"),
        (CollectorSettings, "COLLECTOR_RATE_PER_S", "brave=1,tavily=fast", "tavily=fast"),
        (CollectorSettings, "COLLECTOR_RATE_PER_S", "bravee=1", "bravee=1"),
        (CollectorSettings, "COLLECTOR_PROXIES", "proxy.example:8080", "proxy.example:8080"),
        (MonitorSettings, "MONITOR_WEBHOOK_URLS", "hooks.example/x", "hooks.example/x"),
        (ProcessorSettings, "PROCESSOR_APIFY_FIELD_MAPS_FILE", NO_MAPS, NO_MAPS),
        (ProcessorSettings, "PROCESSOR_GRADING_RULES_FILE", NO_RULES, NO_RULES),
        (CollectorSettings, "LOG_LEVEL", "verbose", "verbose"),
        (CollectorSettings, "COLLECTOR_BURST", "-1", "-1"),
    ],
)
def test_a_bad_value_refuses_the_start(
    settings: type[BaseSettings],
    variable: str,
    value: str,
    shown: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every parsed setting fails at load with exit 2, naming the variable and the bad value."""
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE_DSN)
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as stopped:
        lifecycle.load_settings(settings, "probe")
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert f"{variable}:" in err
    assert shown in err


def test_a_secret_value_is_never_shown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad value of a secret setting is named but not printed; URL passwords are masked."""
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE_DSN)
    monkeypatch.setenv("COLLECTOR_PROXIES", "http://u:pw-proxy@proxy.example:8080, nope")
    with pytest.raises(SystemExit):
        lifecycle.load_settings(CollectorSettings, "probe")
    err = capsys.readouterr().err
    assert "COLLECTOR_PROXIES" in err
    assert "pw-proxy" not in err


def test_good_defaults_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """The defaults pass the checks, and the parsed values are what the services use."""
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE_DSN)
    monkeypatch.setenv("COLLECTOR_PROXIES", "http://proxy.example:8080")
    settings = lifecycle.load_settings(CollectorSettings, "probe")
    assert settings.rates()["tavily"] == 1.5
    assert settings.proxy_list() == ["http://proxy.example:8080"]
    assert str(settings.zone()) == "America/Los_Angeles"


def test_a_crashed_background_task_stops_the_service_as_a_crash() -> None:
    """A background task that raises sets stop at once and the service exits 1, not 0."""
    seen: list[str] = []

    async def schedule() -> None:
        raise ValueError("bad slot")

    async def serve(stop: asyncio.Event) -> None:
        task = lifecycle.stop_on_crash(asyncio.create_task(schedule()), stop, "schedule")
        await asyncio.wait_for(stop.wait(), timeout=10)
        seen.append("stopped")
        await asyncio.gather(task, return_exceptions=True)
        lifecycle.raise_crashes({"schedule": task})

    assert lifecycle.run_service(serve, "probe") == 1
    assert seen == ["stopped"]
