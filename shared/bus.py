"""The bus: connect to NATS JetStream, publish events, consume them with one ack policy.

The ack policy lives here and nowhere else:

| handler outcome                                          | bus action                      |
| -------------------------------------------------------- | ------------------------------- |
| returns (its durable effect is done)                     | ``ack``                         |
| payload fails validation, or ``PermanentError``          | dead-letter subject, ``term``   |
| ``RetryableError`` or a known transient error            | ``nak(delay=backoff)``          |
| any other exception                                      | log with traceback, ``nak``     |
| failed on the last allowed delivery (``max_deliver``)    | dead-letter subject, ``term``   |

While a handler runs the bus sends ``in_progress`` so long work is not redelivered, and on stop it
lets in-flight handlers finish for a bounded time and hands the rest back with ``nak``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import nats
import nats.errors
import nats.js.errors
import orjson
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, KeyValueConfig, StreamConfig
from nats.js.kv import KeyValue
from pydantic import BaseModel, ValidationError

from shared import PIPELINE_VERSION, retry
from shared.errors import ConfigError, PermanentError, RetryableError, ServerNotReadyError
from shared.events import Event, Heartbeat, derived_id, utcnow
from shared.logs import redact_url
from shared.settings import PipelineSettings
from shared.subjects import DLQ_PREFIX, Names

log = structlog.get_logger(__name__)

T = TypeVar("T", bound=BaseModel)
Handler = Callable[[T], Awaitable[None]]

STREAM_MAX_AGE_S = 14 * 24 * 3600
DUPLICATE_WINDOW_S = 120
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    RetryableError,
    *retry.TRANSIENT_DB_ERRORS,
    nats.errors.Error,
)


def backoff_s(num_delivered: int) -> float:
    """Return the redelivery delay after a failed attempt: 1, 2, 4 ... capped at 60 seconds."""
    return float(min(60, 2 ** max(0, num_delivered - 1)))


@dataclass(frozen=True)
class Envelope:
    """A message for consumers that take any subject (the monitor): bare subject and JSON body."""

    subject: str
    data: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class Bus:
    """One NATS connection and its JetStream context, for one namespace."""

    def __init__(
        self, nc: Client, names: Names, stream_replicas: int = 1, startup_wait_s: float = 0.0
    ) -> None:
        """Wrap a connected client; use ``connect()`` instead of calling this."""
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.names = names
        self.stream_replicas = stream_replicas
        self.startup_wait_s = startup_wait_s

    async def open_bucket(self, name: str, ttl_s: float | None = None) -> KeyValue:
        """Open the key-value bucket ``name``, or create it (history 1, ``ttl_s``, the stream's
        replicas); while JetStream is not ready yet, wait up to ``STARTUP_WAIT_S``."""
        async for attempt in retry.for_startup("nats", self.startup_wait_s):
            with attempt:
                try:
                    return await self.js.key_value(name)
                except nats.js.errors.BucketNotFoundError:
                    config = KeyValueConfig(
                        bucket=name, history=1, ttl=ttl_s, replicas=self.stream_replicas
                    )
                    return await self.js.create_key_value(config)
        raise AssertionError("unreachable: for_startup returns or raises")  # pragma: no cover

    async def ensure_stream(self) -> None:
        """Create (or update) the namespace's stream; safe to call from every replica."""
        config = StreamConfig(
            name=self.names.stream,
            subjects=[self.names.all_subjects],
            max_age=STREAM_MAX_AGE_S,
            duplicate_window=DUPLICATE_WINDOW_S,
            num_replicas=self.stream_replicas,
        )
        try:
            await self.js.add_stream(config)
        except nats.js.errors.BadRequestError:
            await self.js.update_stream(config)

    async def publish(self, event: Event) -> None:
        """Publish an event and wait for JetStream's ack; ``event_id`` is the dedupe id."""
        await self.publish_raw(
            self.names.subject(event.subject),
            event.model_dump_json().encode(),
            {"Nats-Msg-Id": str(event.event_id)},
        )

    async def publish_raw(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        """Publish bytes to a namespaced subject and wait for JetStream's ack."""
        ack = await self.js.publish(subject, payload, headers=headers)
        if ack.duplicate:
            log.info("bus.publish_duplicate", subject=subject, seq=ack.seq)

    async def consume(
        self,
        subject: str,
        service: str,
        model: type[T] | None,
        handler: Callable[[Any], Awaitable[None]],
        *,
        max_in_flight: int = 4,
        ack_wait_s: float = 60.0,
        max_deliver: int = 5,
    ) -> Consumer[T]:
        """Start a durable pull consumer on a bare subject; return it so the caller can stop it.

        With ``model=None`` the handler receives an ``Envelope`` (any subject, raw JSON).
        """
        full = self.names.subject(subject)
        durable = self.names.durable(service, subject)
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=ack_wait_s,
            max_deliver=max_deliver,
            max_ack_pending=max_in_flight * 4,
        )
        sub = await self.js.pull_subscribe(
            full, durable=durable, stream=self.names.stream, config=config
        )
        consumer: Consumer[T] = Consumer(
            self, sub, model, handler, max_in_flight, ack_wait_s, max_deliver
        )
        consumer.start()
        return consumer


Route = tuple[str, type[BaseModel] | None, Callable[..., Awaitable[None]]]
"""A bare subject, the model of its payloads (None: any subject, an Envelope), its handler."""


@dataclass(frozen=True)
class ConsumerLimits:
    """How one service consumes: concurrency, ack wait, deliveries and the stop grace."""

    max_in_flight: int
    ack_wait_s: float
    max_deliver: int
    grace_s: float


@contextlib.asynccontextmanager
async def consuming(
    bus: Bus, service: str, routes: Sequence[Route], deps: Any, limits: ConsumerLimits
) -> AsyncIterator[list[Consumer[Any]]]:
    """Consume every route with ``handler(event, deps=deps)``; on exit stop them all at once.

    Stopping stops intake first and lets in-flight handlers finish within ``limits.grace_s``.
    """
    consumers: list[Consumer[Any]] = []
    try:
        for subject, model, handler in routes:
            consumer = await bus.consume(
                subject,
                service,
                model,
                functools.partial(handler, deps=deps),
                max_in_flight=limits.max_in_flight,
                ack_wait_s=limits.ack_wait_s,
                max_deliver=limits.max_deliver,
            )
            consumers.append(consumer)
        yield consumers
    finally:
        await asyncio.gather(*(c.stop(grace_s=limits.grace_s) for c in consumers))


@dataclass
class Consumer(Generic[T]):
    """A running pull loop that applies the ack policy to each message."""

    bus: Bus
    sub: JetStreamContext.PullSubscription
    model: type[T] | None
    handler: Callable[[Any], Awaitable[None]]
    max_in_flight: int
    ack_wait_s: float
    max_deliver: int
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _loop_task: asyncio.Task[None] | None = None
    _stopping: bool = False

    def start(self) -> None:
        """Start fetching in the background."""
        self._loop_task = asyncio.create_task(self._fetch_loop())

    async def stop(self, grace_s: float) -> None:
        """Stop fetching, let in-flight handlers finish for ``grace_s``, hand back the rest."""
        self._stopping = True
        if self._loop_task is not None:
            await self._loop_task
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        with contextlib.suppress(nats.errors.Error):
            await self.sub.unsubscribe()

    async def _fetch_loop(self) -> None:
        while not self._stopping:
            room = self.max_in_flight - len(self._tasks)
            if room <= 0:
                await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                msgs = await self.sub.fetch(batch=room, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except nats.errors.Error as exc:  # connection hiccup: the client reconnects
                log.warning("bus.fetch_failed", error=repr(exc))
                await asyncio.sleep(1.0)  # back off before the next fetch, not synchronisation
                continue
            for msg in msgs:
                task = asyncio.create_task(self._handle(msg))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _handle(self, msg: Msg) -> None:
        num = msg.metadata.num_delivered or 1
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            subject=msg.subject, stream_seq=msg.metadata.sequence.stream, num_delivered=num
        )
        heartbeat = asyncio.create_task(self._heartbeat(msg))
        try:
            await self._dispatch(msg, num)
        except asyncio.CancelledError:
            log.warning("bus.handed_back")
            with contextlib.suppress(nats.errors.Error):
                await msg.nak()
            raise
        finally:
            heartbeat.cancel()

    async def _dispatch(self, msg: Msg, num: int) -> None:
        try:
            event = self._decode(msg)
        except (ValidationError, orjson.JSONDecodeError, UnicodeDecodeError) as exc:
            await self._dead_letter(msg, f"invalid payload: {exc}")
            return
        try:
            await self.handler(event)
        except PermanentError as exc:
            await self._dead_letter(msg, str(exc))
        except TRANSIENT_ERRORS as exc:
            await self._retry_or_dead_letter(msg, num, exc, transient=True)
        except Exception as exc:  # noqa: BLE001 - top of the consume loop: logged, then nak/DLQ
            await self._retry_or_dead_letter(msg, num, exc, transient=False)
        else:
            await msg.ack()
            log.debug("bus.acked")

    def _decode(self, msg: Msg) -> Any:
        if self.model is None:
            data = orjson.loads(msg.data) if msg.data else {}
            if not isinstance(data, dict):
                data = {"value": data}
            bare = self.bus.names.bare(msg.subject)
            return Envelope(subject=bare, data=data, headers=dict(msg.headers or {}))
        data = orjson.loads(msg.data)
        if (
            isinstance(data, dict)
            and "event_id" not in data
            and "event_id" in self.model.model_fields
        ):
            # A command typed with `nats pub` has no id: derive one from the stream position so a
            # redelivery of that message is recognised as the same command.
            seq = str(msg.metadata.sequence.stream)
            data["event_id"] = str(derived_id(self.bus.names.stream, seq))
        return self.model.model_validate(data)

    async def _retry_or_dead_letter(
        self, msg: Msg, num: int, exc: BaseException, *, transient: bool
    ) -> None:
        if transient:
            log.warning("bus.transient_failure", error=repr(exc))
        else:
            log.exception("bus.handler_failed", error=repr(exc))
        if num >= self.max_deliver:
            await self._dead_letter(msg, f"failed {num} times, last: {exc!r}")
            return
        await msg.nak(delay=backoff_s(num))

    async def _dead_letter(self, msg: Msg, reason: str) -> None:
        """Publish the message to ``dlq.<subject>`` with the reason in a header, then term it."""
        names = self.bus.names
        if names.bare(msg.subject).startswith(DLQ_PREFIX + "."):
            await msg.term()  # a dead letter that fails again is not dead-lettered twice
            log.error("bus.dead_letter_dropped_after_failure", reason=reason)
            return
        headers = {
            "Pipeline-Error": reason[:1000].replace("\n", " "),
            "Pipeline-Original-Subject": msg.subject,
            "Nats-Msg-Id": f"dlq-{msg.metadata.sequence.stream}-{names.stream}",
        }
        await self.bus.publish_raw(names.dlq(msg.subject), msg.data, headers)
        await msg.term()
        log.error("bus.dead_lettered", reason=reason)

    async def _heartbeat(self, msg: Msg) -> None:
        while True:
            await asyncio.sleep(self.ack_wait_s / 3)
            with contextlib.suppress(nats.errors.Error):
                await msg.in_progress()


def _tls_context(settings: PipelineSettings) -> ssl.SSLContext | None:
    """Return a TLS context when a CA or a client certificate is configured (or tls:// is used)."""
    wants_tls = settings.nats_url.startswith("tls://") or settings.nats_tls_ca is not None
    if not wants_tls and settings.nats_tls_cert is None:
        return None
    context = ssl.create_default_context(
        cafile=str(settings.nats_tls_ca) if settings.nats_tls_ca else None
    )
    if settings.nats_tls_cert is not None:
        key = str(settings.nats_tls_key) if settings.nats_tls_key else None
        context.load_cert_chain(str(settings.nats_tls_cert), key)
    return context


async def _log_reconnected() -> None:
    log.info("nats.reconnected")


def _options(
    settings: PipelineSettings, name: str, errors: list[Exception], closing: asyncio.Event
) -> dict[str, Any]:
    """Return nats.connect options: reconnect forever, credentials and TLS from the settings."""

    async def on_error(exc: Exception) -> None:
        errors.append(exc)
        log.warning("nats.error", error=repr(exc))

    async def on_disconnected() -> None:
        if closing.is_set():
            log.debug("nats.closed")
        else:
            log.warning("nats.disconnected")

    options: dict[str, Any] = {
        "name": name,
        "connect_timeout": 5,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 1,
        "allow_reconnect": True,
        "error_cb": on_error,
        "disconnected_cb": on_disconnected,
        "reconnected_cb": _log_reconnected,
    }
    if settings.nats_user:
        options["user"] = settings.nats_user
    if settings.nats_password:
        options["password"] = settings.nats_password.get_secret_value()
    if settings.nats_token:
        options["token"] = settings.nats_token.get_secret_value()
    if settings.nats_creds:
        options["user_credentials"] = str(settings.nats_creds)
    tls = _tls_context(settings)
    if tls is not None:
        options["tls"] = tls
    return options


async def _open(settings: PipelineSettings, name: str, closing: asyncio.Event) -> Client:
    """Connect to NATS once, waiting up to ``connect_wait_s`` (the client retries meanwhile).

    Raises:
        ServerNotReadyError: NATS refused, timed out or does not resolve yet (worth waiting for).
        ConfigError: NATS refuses the credentials or the TLS set-up (one actionable line).
    """
    errors: list[Exception] = []
    try:
        async with asyncio.timeout(settings.connect_wait_s):
            return await nats.connect(
                settings.nats_servers, **_options(settings, name, errors, closing)
            )
    except (nats.errors.Error, OSError, TimeoutError) as exc:
        last = errors[-1] if errors else exc
        msg = (
            f"cannot use NATS at {redact_url(settings.nats_url)} within "
            f"{settings.connect_wait_s:g}s (last error: {last!r}); "
            "check NATS_URL, the credentials, and that nats-server runs with -js"
        )
        if retry.server_not_ready(last):
            raise ServerNotReadyError(msg) from exc
        raise ConfigError(msg) from exc


async def _ensure_stream(bus: Bus, settings: PipelineSettings) -> None:
    """Create the stream, waiting while JetStream is not ready (a fresh cluster elects a leader)."""
    try:
        async for attempt in retry.for_startup("nats", settings.startup_wait_s):
            with attempt:
                await bus.ensure_stream()
    except (nats.js.errors.ServiceUnavailableError, nats.errors.NoRespondersError) as exc:
        msg = (
            f"NATS at {redact_url(settings.nats_url)} has no JetStream; start nats-server with -js"
        )
        raise ConfigError(msg) from exc
    except nats.errors.TimeoutError as exc:
        msg = (
            f"JetStream at {redact_url(settings.nats_url)} did not create the stream within "
            f"{settings.startup_wait_s:g}s (STARTUP_WAIT_S); check the cluster's health"
        )
        raise ConfigError(msg) from exc


@contextlib.asynccontextmanager
async def connect(settings: PipelineSettings, name: str) -> AsyncIterator[Bus]:
    """Connect to NATS, ensure the stream, and drain the connection on exit.

    A server that is not up yet is waited for, up to ``STARTUP_WAIT_S`` (``shared.retry``).

    Raises:
        ConfigError: NATS cannot be reached in time, refuses the credentials, or has no JetStream
            (one actionable line, naming the last error the client saw).
    """
    closing = asyncio.Event()
    nc: Client | None = None
    async for attempt in retry.for_startup("nats", settings.startup_wait_s):
        with attempt:
            nc = await _open(settings, name, closing)
    assert nc is not None  # noqa: S101 - the loop above returns a client or raises
    bus = Bus(nc, Names(settings.namespace), settings.nats_stream_replicas, settings.startup_wait_s)
    beat = asyncio.create_task(_heartbeat(bus, name, settings.heartbeat_s))
    try:
        await _ensure_stream(bus, settings)
        yield bus
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
        closing.set()
        with contextlib.suppress(nats.errors.Error):
            await nc.drain()


async def _heartbeat(bus: Bus, service: str, every_s: float) -> None:
    """Announce on core NATS, every ``every_s``, that this process is alive (monitor health)."""
    beat = Heartbeat(
        service=service,
        instance=f"{socket.gethostname()}-{os.getpid()}",
        started_at=utcnow(),
        pipeline_version=PIPELINE_VERSION,
    )
    subject = bus.names.heartbeat(service)
    while True:
        payload = beat.model_copy(update={"sent_at": utcnow()}).model_dump_json().encode()
        with contextlib.suppress(nats.errors.Error):
            await bus.nc.publish(subject, payload)
        await asyncio.sleep(every_s)
