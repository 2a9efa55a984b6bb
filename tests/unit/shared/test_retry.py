"""The start-up policy waits for servers that are not up yet and for nothing else."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time

import asyncpg
import nats.errors
import nats.js.errors
import pytest

from shared import retry
from shared.errors import ConfigError, ServerNotReadyError
from shared.lifecycle import SERVICE_STOP


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        socket.gaierror(-2, "Name or service not known"),  # compose: the name is not up yet
        OSError("Multiple exceptions: [Errno 111] Connect call failed"),
        TimeoutError(),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        nats.errors.TimeoutError(),
        nats.errors.NoRespondersError(),
        ServerNotReadyError("cannot use NATS"),
    ],
)
def test_not_up_yet_is_waited_for(exc: BaseException) -> None:
    """Refused, unresolvable, timed out, starting up: worth waiting for."""
    assert retry.server_not_ready(exc)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.InvalidPasswordError("password authentication failed"),
        asyncpg.InvalidCatalogNameError('database "x" does not exist'),
        nats.errors.AuthorizationError(),
        ssl.SSLCertVerificationError("certificate verify failed"),
        PermissionError(13, "Permission denied"),
        ConfigError("DATABASE_URL is not set"),
        ValueError("bad"),
    ],
)
def test_final_errors_are_not_waited_for(exc: BaseException) -> None:
    """Credentials, TLS, a missing database or an unreadable file: waiting will not help."""
    assert not retry.server_not_ready(exc)


def test_a_refused_login_is_waited_for_only_when_asked() -> None:
    """A role the owner has not created yet looks like a wrong password: only a service's first
    connection as its own role waits for it (``also``), nothing else does."""
    refused = asyncpg.InvalidPasswordError("password authentication failed for user x")
    assert retry.role_not_created_yet(refused)
    assert not retry.server_not_ready(refused)
    assert not retry.role_not_created_yet(ConnectionRefusedError(111, "refused"))


async def test_a_login_refused_until_the_role_exists_is_retried() -> None:
    """Refused twice (the migrate service had not created the role), then accepted."""
    attempts = 0
    async for attempt in retry.for_startup("postgresql", 30, also=retry.role_not_created_yet):
        with attempt:
            attempts += 1
            if attempts < 3:
                raise asyncpg.InvalidPasswordError("password authentication failed")
    assert attempts == 3


async def test_the_policy_stops_at_its_bound_and_reraises() -> None:
    """With a bound of 0 a refused connection is tried once and re-raised as it was."""
    attempts = 0

    async def refused() -> None:
        nonlocal attempts
        attempts += 1
        raise ConnectionRefusedError(111, "refused")

    with pytest.raises(ConnectionRefusedError):
        await retry.for_startup("postgresql", 0)(refused)
    assert attempts == 1


async def test_the_policy_retries_until_the_server_answers() -> None:
    """Refused twice, then answered: the third attempt's result is returned."""
    attempts = 0
    async for attempt in retry.for_startup("nats", 30):
        with attempt:
            attempts += 1
            if attempts < 3:
                raise ConnectionRefusedError(111, "refused")
    assert attempts == 3


async def test_a_stop_request_ends_the_wait_at_once() -> None:
    """SIGTERM while a service waits for a server (its stop event set) ends the wait within
    moments, not after STARTUP_WAIT_S: the last error is re-raised."""
    stop = asyncio.Event()
    token = SERVICE_STOP.set(stop)
    try:
        policy = retry.for_startup("postgresql", 300)
    finally:
        SERVICE_STOP.reset(token)

    async def refused() -> None:
        raise ConnectionRefusedError(111, "refused")

    waiting = asyncio.create_task(policy(refused))
    await asyncio.sleep(1.5)  # let it reach its backoff sleeps; the test is about what stop does
    assert not waiting.done()
    started = time.monotonic()
    stop.set()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.wait_for(waiting, timeout=5)
    assert time.monotonic() - started < 1.0
