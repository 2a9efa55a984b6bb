"""Named retry policies (tenacity): narrow, bounded, jittered, logged, re-raised."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable

import asyncpg
import nats.errors
import nats.js.errors
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from shared.errors import ServerNotReadyError
from shared.lifecycle import SERVICE_STOP
from shared.logs import redact_text

log = structlog.get_logger(__name__)

TRANSIENT_DB_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InterfaceError,
    ConnectionError,
    OSError,
    TimeoutError,
)


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning(
        "retry.waiting",
        attempt=state.attempt_number,
        wait_s=round(state.next_action.sleep, 2) if state.next_action else None,
        error=repr(exc),
    )


def for_db(attempts: int = 5, max_delay_s: float = 30.0) -> AsyncRetrying:
    """Retry transient PostgreSQL failures (connection lost, serialization, deadlock)."""
    return AsyncRetrying(
        retry=retry_if_exception_type(TRANSIENT_DB_ERRORS),
        stop=stop_after_attempt(attempts) | stop_after_delay(max_delay_s),
        wait=wait_exponential_jitter(multiplier=0.2, max=5.0),
        before_sleep=_log_retry,
        reraise=True,
    )


def server_not_ready(exc: BaseException) -> bool:
    """Return True when ``exc`` says a server is not up yet, so the start-up step is retried.

    Not up yet: the port is closed or the name does not resolve yet (compose starts every
    container at once), the connection was dropped or timed out, PostgreSQL is still starting,
    JetStream has no responder or no meta leader yet (a fresh cluster). Wrong credentials, TLS
    failures, unreadable local files, a missing database and every other error are final.
    """
    if isinstance(exc, (ssl.SSLError, PermissionError, FileNotFoundError, IsADirectoryError)):
        return False  # TLS set-up, or a local file (a client certificate): waiting won't help
    return isinstance(
        exc,
        (
            ServerNotReadyError,
            OSError,  # refused, unreachable, unresolvable (gaierror), reset
            TimeoutError,
            asyncpg.CannotConnectNowError,
            asyncpg.ConnectionDoesNotExistError,
            nats.errors.TimeoutError,
            nats.errors.NoServersError,
            nats.errors.NoRespondersError,
            nats.js.errors.ServiceUnavailableError,
        ),
    )


def role_not_created_yet(exc: BaseException) -> bool:
    """Return True when PostgreSQL refuses a login that the owner may not have created yet.

    Under compose the one-shot migrate service creates each service's role while the services
    start: until then PostgreSQL answers "password authentication failed" (it does not say
    whether the role exists). Only a service's first connection as its own role waits for this;
    a wrong password is then reported after the same bound as a server that never came up.
    """
    return isinstance(
        exc, (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)
    )


class _StopRequested(stop_base):
    """Stop retrying once the service's stop event is set."""

    def __init__(self, stopping: asyncio.Event | None) -> None:
        self.stopping = stopping

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.stopping is not None and self.stopping.is_set()


def for_startup(
    server: str, max_wait_s: float, *, also: Callable[[BaseException], bool] | None = None
) -> AsyncRetrying:
    """Retry a start-up step (first connection, stream and bucket setup, migrations) while
    ``server`` is not up yet (or ``also`` holds for the error), for up to ``max_wait_s``
    (0: one attempt), or until the service is asked to stop (``lifecycle.SERVICE_STOP``); log
    every wait."""

    def log_wait(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "startup.waiting",
            server=server,
            attempt=state.attempt_number,
            waited_s=round(state.seconds_since_start or 0.0, 1),
            wait_s=round(state.next_action.sleep, 2) if state.next_action else None,
            error=redact_text(repr(exc)),
        )

    stopping = SERVICE_STOP.get()

    async def sleep(seconds: float) -> None:  # ends early when the service is asked to stop
        if stopping is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=seconds)

    return AsyncRetrying(
        retry=retry_if_exception(lambda exc: server_not_ready(exc) or bool(also and also(exc))),
        stop=stop_after_delay(max_wait_s) | _StopRequested(stopping),
        wait=wait_exponential_jitter(multiplier=0.5, max=10.0),
        sleep=sleep,
        before_sleep=log_wait,
        reraise=True,
    )
