"""Named retry policies (tenacity): narrow, bounded, jittered, logged, re-raised."""

from __future__ import annotations

import asyncpg
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

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


def for_connect(max_delay_s: float = 30.0) -> AsyncRetrying:
    """Retry a start-up connection while the server comes up (compose starts all at once)."""
    return AsyncRetrying(
        retry=retry_if_exception_type((*TRANSIENT_DB_ERRORS,)),
        stop=stop_after_delay(max_delay_s),
        wait=wait_exponential_jitter(multiplier=0.5, max=5.0),
        before_sleep=_log_retry,
        reraise=True,
    )
