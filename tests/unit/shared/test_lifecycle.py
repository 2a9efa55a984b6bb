"""Running a service: exit codes and the runtime it gets."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from shared import lifecycle
from shared.errors import ConfigError


@pytest.fixture
def default_gc() -> Iterator[None]:
    """Restore the interpreter's collector thresholds after the test."""
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


@pytest.mark.usefixtures("default_gc")
def test_a_service_runs_with_the_tuned_collector() -> None:
    """The young-generation threshold is raised before the service starts; a clean stop is 0."""
    seen: list[tuple[int, int, int]] = []

    async def serve(stop: asyncio.Event) -> None:
        seen.append(gc.get_threshold())

    assert lifecycle.run_service(serve, "probe") == 0
    assert seen[0][0] == lifecycle.GC_YOUNG_THRESHOLD


@pytest.mark.usefixtures("default_gc")
def test_an_unusable_configuration_exits_2() -> None:
    """A ConfigError at start-up is one line and exit code 2, not a traceback."""

    async def serve(stop: asyncio.Event) -> None:
        raise ConfigError("DATABASE_URL is not set")

    assert lifecycle.run_service(serve, "probe") == 2


@pytest.mark.usefixtures("default_gc")
def test_a_configuration_error_reaches_stderr_with_its_secrets_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The one line on stderr masks passwords in URLs and key=value pairs, like the log does."""

    async def serve(stop: asyncio.Event) -> None:
        raise ConfigError(
            "cannot use NATS at nats://u:pw1@a:4222,nats://u:pw2@b:4222 "
            "(last error: connect postgresql://app:pw3@db/x failed, token=pw4)"
        )

    assert lifecycle.run_service(serve, "probe") == 2
    err = capsys.readouterr().err
    assert err.startswith("probe: cannot use NATS at nats://u:***@a:4222")
    for secret in ("pw1", "pw2", "pw3", "pw4"):
        assert secret not in err
