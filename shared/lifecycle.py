"""Run a service: signals set a stop event, start-up failures become one actionable line.

Exit codes: 0 on a clean stop (SIGTERM/SIGINT), 2 when configuration or infrastructure is
unusable at start-up, 1 on a crash.
"""

from __future__ import annotations

import asyncio
import contextvars
import ctypes
import gc
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from pydantic import ValidationError

from shared import logs
from shared.errors import ConfigError
from shared.logs import redact_text

if TYPE_CHECKING:  # pydantic-settings (~16 MB) stays out of processes that load no settings
    from pydantic_core import ErrorDetails
    from pydantic_settings import BaseSettings

log = structlog.get_logger(__name__)

SERVICE_STOP: contextvars.ContextVar[asyncio.Event | None] = contextvars.ContextVar(
    "SERVICE_STOP", default=None
)
"""The running service's stop event (set by SIGTERM/SIGINT): start-up waits end when it is set."""


GC_YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    """Run the cyclic garbage collector's young pass every 50,000 allocations instead of 700.

    The services allocate millions of short-lived, acyclic objects (parsed records, rows,
    candidates); with the default thresholds the collector rescans them over and over. Measured
    on the processor's linking (20,000 records against 1,000,000 known): Python CPU per record
    898 -> 521 us. Reference counting still frees almost everything at once; only cycles wait.
    """
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 100)


MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter number


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Let glibc's malloc use at most ``arenas`` arenas (unless MALLOC_ARENA_MAX is set).

    glibc gives each thread that allocates its own arena, up to 8 per core. The services
    allocate rows in worker threads (reading, unpickling, writing) and free them in the event
    loop's thread, so freed memory is spread over arenas that each keep their own high-water
    mark. Two arenas is the usual setting for threaded Python servers. Called before any thread
    starts; returns False where the C library is not glibc (the setting does not apply).
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def run_service(serve: Callable[[asyncio.Event], Awaitable[None]], name: str) -> int:
    """Run ``serve(stop)`` until it returns; SIGTERM and SIGINT only set ``stop``."""
    tune_gc()
    limit_malloc_arenas()

    stopped = False

    async def runner() -> None:
        nonlocal stopped
        stop = asyncio.Event()
        SERVICE_STOP.set(stop)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await serve(stop)
        finally:
            stopped = stop.is_set()

    try:
        asyncio.run(runner())
    except ConfigError as exc:
        if stopped:  # asked to stop while it waited for a server at start-up
            log.info("service.stopped", service=name, while_waiting=redact_text(str(exc)))
            return 0
        sys.stderr.write(f"{name}: {redact_text(str(exc))}\n")
        log.error("service.unusable", service=name, error=str(exc))
        return 2
    except Exception:
        log.exception("service.crashed", service=name)
        return 1
    log.info("service.stopped", service=name)
    return 0


S = TypeVar("S", bound="BaseSettings")


def load_settings(cls: type[S], name: str) -> S:
    """Build a settings object from the environment, or exit 2 naming each bad variable.

    Every value the services parse (cron expressions, the time zone, rate and URL lists, rules
    files) is checked here, so a typo stops the start instead of failing at first use. The
    problems go to stderr as one line and to the log as ``service.unusable``; the value is shown
    unless the setting holds a secret (and any password inside a URL is masked).
    """
    try:
        return cls()
    except ValidationError as exc:
        problems = [
            _problem(cls, err) for err in exc.errors(include_url=False, include_context=False)
        ]
        sys.stderr.write(f"{name}: invalid configuration: {'; '.join(problems)}\n")
        logs.early_logger().error(
            "service.unusable", service=name, error="invalid configuration", problems=problems
        )
        raise SystemExit(2) from None


def _problem(cls: type[BaseSettings], err: ErrorDetails) -> str:
    """Return one line naming the variable, what is wrong and (unless secret) the value given."""
    variable = ".".join(str(p) for p in err["loc"]) or "settings"
    line = f"{variable}: {err['msg'].removeprefix('Value error, ')}"
    secret = any(
        field.validation_alias == variable and "SecretStr" in str(field.annotation)
        for field in cls.model_fields.values()
    )
    if not secret and err["type"] != "value_error" and "input" in err:
        line += f" (got {err['input']!r})"
    return redact_text(line)


def stop_on_crash(task: asyncio.Task[Any], stop: asyncio.Event, name: str) -> asyncio.Task[Any]:
    """Stop the service when a background task ends with an error, instead of hiding it.

    The error is logged at once as ``service.task_crashed`` and ``stop`` is set, so the service
    shuts down and ``raise_crashes`` turns its exit into a crash (exit 1) rather than running on
    with a dead schedule or loop that nobody awaits.
    """

    def done(finished: asyncio.Task[Any]) -> None:
        if finished.cancelled() or finished.exception() is None:
            return
        error = finished.exception()
        log.error("service.task_crashed", task=name, error=repr(error), exc_info=error)
        stop.set()

    task.add_done_callback(done)
    return task


def raise_crashes(tasks: dict[str, asyncio.Task[Any]]) -> None:
    """Raise ``BackgroundTaskError`` if any finished task (not cancelled) ended with an error."""
    for name, task in tasks.items():
        if task.done() and not task.cancelled() and task.exception() is not None:
            msg = f"background task {name} crashed: {task.exception()!r}"
            raise BackgroundTaskError(msg) from task.exception()


class BackgroundTaskError(RuntimeError):
    """A background task of a service (schedule, re-scan loop) ended with an error."""
