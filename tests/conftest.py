"""Shared fixtures: a throw-away PostgreSQL database per session, a unique NATS namespace per test.

The real servers are required: a missing server fails the run, it is never skipped.
``NATS_URL`` and ``DATABASE_URL`` (an admin DSN able to create databases) come from the
environment, with the local defaults of the development machines.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import nats
import pytest
import structlog
from pydantic import BaseModel

from shared.bus import Bus, connect
from shared.settings import PipelineSettings
from shared.storage import DataDir

T = TypeVar("T", bound=BaseModel)
ADMIN_DSN = os.environ.get("TEST_ADMIN_DATABASE_URL") or (
    # The server DATABASE_URL names (make test's, or a user's), reached through its admin database.
    os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres").rpartition("/")[
        0
    ]
    + "/postgres"
)
NATS_URL = os.environ.get("NATS_URL", "nats://127.0.0.1:4222")


@contextlib.asynccontextmanager
async def recorded(bus: Bus, subject: str, model: type[T]) -> AsyncIterator[list[T]]:
    """Record every event of ``subject`` with a probe consumer; stop it on exit."""
    seen: list[T] = []

    async def keep(event: T) -> None:
        seen.append(event)

    consumer = await bus.consume(subject, "probe", model, keep)
    try:
        yield seen
    finally:
        await consumer.stop(grace_s=1)


@pytest.fixture(autouse=True, scope="session")
def _loggers_stay_capturable() -> Iterator[None]:
    """Keep structlog from caching a logger on its first use while the tests run.

    A service started in the test process configures logging with caching on (right in
    production: no processor chain rebuilt per call); a logger cached then is invisible to
    ``structlog.testing.capture_logs``, so a test capturing logs would pass or fail by the
    order the tests ran in.
    """
    original = structlog.configure

    def configure(*args: Any, **kwargs: Any) -> None:
        original(*args, **{**kwargs, "cache_logger_on_first_use": False})

    structlog.configure = configure
    yield
    structlog.configure = original


def unique(prefix: str) -> str:
    """Return a short unique lower-case name for streams, namespaces and databases."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def dsn_for(database: str) -> str:
    """Return the admin DSN pointed at another database."""
    base, _, _ = ADMIN_DSN.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """Create a fresh database for the test session and drop it afterwards."""
    name = unique("pipeline_test_")
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield dsn_for(name)
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def namespace() -> str:
    """Return a namespace no other test uses, so streams and consumers are isolated."""
    return unique("t")


@pytest.fixture
def data_dir(tmp_path: Path) -> DataDir:
    """Return an empty data folder with the standard layout."""
    data = DataDir(tmp_path / "data")
    data.ensure_layout()
    return data


@pytest.fixture
def env(database_url: str, namespace: str, data_dir: DataDir) -> dict[str, str]:
    """Return the environment a service process of this test runs with."""
    return {
        **os.environ,
        "NATS_URL": NATS_URL,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir.root),
        "PIPELINE_NAMESPACE": namespace,
        # The fake providers and webhook receivers of the tests listen on loopback.
        "ALLOWED_URL_HOSTS": "127.0.0.1,localhost",
    }


@pytest.fixture
def settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> PipelineSettings:
    """Return pipeline settings for this test's namespace, database and data folder."""
    for key in ("NATS_URL", "DATABASE_URL", "DATA_DIR", "PIPELINE_NAMESPACE", "ALLOWED_URL_HOSTS"):
        monkeypatch.setenv(key, env[key])
    return PipelineSettings()


@pytest.fixture
async def bus(settings: PipelineSettings) -> AsyncIterator[Bus]:
    """Return a bus on the real NATS server; its stream is deleted after the test."""
    async with connect(settings, "test") as connected:
        yield connected
        await connected.js.delete_stream(connected.names.stream)


@pytest.fixture
async def nats_client() -> AsyncIterator[nats.NATS]:
    """Return a plain NATS client, as a user's `nats pub` would use."""
    nc = await nats.connect(NATS_URL)
    yield nc
    await nc.drain()
