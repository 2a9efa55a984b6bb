"""The details of the bus's ack policy against the real JetStream server.

`test_bus.py` holds the policy's outcomes (acked, redelivered, dead-lettered, handed back); these
hold what each outcome is made of: the backoff, the dead letter's headers, the id of a command
typed with `nats pub`, the keep-alive of long work, the bound on work in flight, and the stream,
bucket and heartbeat every service relies on.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest
import structlog
from nats.js.api import AckPolicy, DeliverPolicy
from structlog.testing import capture_logs

from shared.bus import (
    DUPLICATE_WINDOW_S,
    STREAM_MAX_AGE_S,
    Bus,
    Consumer,
    ConsumerLimits,
    Envelope,
    Route,
    connect,
    consuming,
)
from shared.errors import ConfigError, PermanentError, RetryableError, ServerNotReadyError
from shared.events import FileCollected, FileRejected, Heartbeat, RecordType, derived_id
from shared.settings import PipelineSettings
from shared.subjects import FILES_COLLECTED, FILES_REJECTED
from tests.polling import eventually

pytestmark = pytest.mark.nats


def _event(reason: str = "r") -> FileRejected:
    return FileRejected(
        path="raw/x.json", stage="test", reason=reason, record_type=RecordType.EVENTS
    )


async def _stream_subjects(bus: Bus) -> dict[str, int]:
    """Return how many messages the namespace's stream holds under each subject."""
    info = await bus.js.stream_info(bus.names.stream, subjects_filter=">")
    return dict(info.state.subjects or {})


async def _settled(bus: Bus, durable: str) -> bool:
    """Return whether the consumer has nothing pending and nothing awaiting an ack."""
    info = await bus.js.consumer_info(bus.names.stream, durable)
    return bool(info.num_pending == 0 and info.num_ack_pending == 0)


async def test_a_retry_waits_its_backoff_and_the_failure_is_logged_by_kind(bus: Bus) -> None:
    """A transient failure is logged as a warning, an unexpected one with its traceback; each is
    redelivered only after the backoff (one second after the first attempt)."""
    attempts: list[float] = []

    async def fails_twice(event: FileRejected) -> None:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise RetryableError("not yet")
        if len(attempts) == 2:
            raise ValueError("bug")

    with capture_logs() as logs:
        consumer = await bus.consume(FILES_REJECTED, "svc", FileRejected, fails_twice)
        await bus.publish(_event())
        await eventually(lambda: _at_least(attempts, 3))
        await consumer.stop(grace_s=2)
    assert len(attempts) == 3
    assert attempts[1] - attempts[0] >= 0.9  # backoff_s(1) == 1
    assert attempts[2] - attempts[1] >= 1.9  # backoff_s(2) == 2
    events = [(entry["event"], entry["log_level"]) for entry in logs]
    assert ("bus.transient_failure", "warning") in events
    assert ("bus.handler_failed", "error") in events
    transient = next(entry for entry in logs if entry["event"] == "bus.transient_failure")
    assert transient["error"] == "RetryableError('not yet')"
    failed = next(entry for entry in logs if entry["event"] == "bus.handler_failed")
    assert failed["exc_info"] is True  # the traceback of a bug is kept
    assert "ValueError('bug')" in failed["error"]
    durable = bus.names.durable("svc", FILES_REJECTED)
    assert await _settled(bus, durable)


async def _at_least(items: list[Any], count: int) -> bool:
    return len(items) >= count


async def test_a_dead_letter_keeps_the_payload_and_a_one_line_bounded_reason(bus: Bus) -> None:
    """The dead letter holds the original bytes, the original subject and the reason on one line
    of at most 1,000 characters; the original is termed, not redelivered."""
    reason = "first line\nsecond line " + "x" * 3000

    async def broken(event: FileRejected) -> None:
        raise PermanentError(reason)

    event = _event()
    seen: list[Envelope] = []

    async def collect(envelope: Envelope) -> None:
        seen.append(envelope)

    with capture_logs() as logs:
        consumer = await bus.consume(FILES_REJECTED, "svc", FileRejected, broken)
        probe: Consumer[Any] = await bus.consume("dlq.>", "probe", None, collect)
        await bus.publish(event)
        await eventually(lambda: _at_least(seen, 1))
        durable = bus.names.durable("svc", FILES_REJECTED)
        await eventually(lambda: _settled(bus, durable))
        await consumer.stop(grace_s=1)
        await probe.stop(grace_s=1)
    [logged] = [entry for entry in logs if entry["log_level"] == "error"]
    assert logged["event"] == "bus.dead_lettered"
    assert logged["reason"] == reason  # the log keeps the whole reason
    [dead] = seen
    error = dead.headers["Pipeline-Error"]
    assert error.startswith("first line second line xxx")
    assert "\n" not in error
    assert len(error) == 1000
    assert dead.headers["Pipeline-Original-Subject"] == bus.names.subject(FILES_REJECTED)
    assert dead.headers["Nats-Msg-Id"] == f"dlq-1-{bus.names.stream}"
    assert dead.data == orjson.loads(event.model_dump_json())
    info = await bus.js.consumer_info(bus.names.stream, durable)
    assert info.num_redelivered == 0
    assert info.delivered.consumer_seq == 1


async def test_a_dead_letter_that_fails_again_is_termed_not_dead_lettered_twice(bus: Bus) -> None:
    """A consumer of dead letters whose handler fails drops the letter, not into dlq.dlq."""
    handled: list[Envelope] = []

    async def broken(envelope: Envelope) -> None:
        handled.append(envelope)
        raise PermanentError("still broken")

    with capture_logs() as logs:
        consumer: Consumer[Any] = await bus.consume("dlq.>", "replayer", None, broken)
        await bus.publish_raw(bus.names.dlq(bus.names.subject(FILES_REJECTED)), b"{}", {})
        await eventually(lambda: _at_least(handled, 1))
        durable = bus.names.durable("replayer", "dlq.>")
        await eventually(lambda: _settled(bus, durable))
        await consumer.stop(grace_s=1)
    [dropped] = [entry for entry in logs if entry["log_level"] == "error"]
    assert dropped["event"] == "bus.dead_letter_dropped_after_failure"
    assert dropped["reason"] == "still broken"
    assert await _stream_subjects(bus) == {bus.names.subject(f"dlq.{FILES_REJECTED}"): 1}
    info = await bus.js.consumer_info(bus.names.stream, durable)
    assert info.num_redelivered == 0
    assert len(handled) == 1


async def test_any_subject_is_handed_over_as_an_envelope(bus: Bus) -> None:
    """With no model the handler gets the bare subject, the JSON body (a non-object wrapped as
    {"value": ...}, an empty body as {}) and the headers."""
    seen: dict[str, Envelope] = {}

    async def collect(envelope: Envelope) -> None:
        seen[envelope.subject] = envelope

    consumer: Consumer[Any] = await bus.consume(">", "monitor", None, collect)
    await bus.publish_raw(bus.names.subject("a.list"), b"[1, 2]", {"X-Tag": "t"})
    await bus.publish_raw(bus.names.subject("a.empty"), b"", {})
    await bus.publish_raw(bus.names.subject("a.object"), b'{"k": "v"}', {})
    await eventually(lambda: _at_least(list(seen), 3))
    await consumer.stop(grace_s=1)
    assert seen["a.list"].data == {"value": [1, 2]}
    assert seen["a.list"].headers == {"X-Tag": "t"}
    assert seen["a.empty"].data == {}
    assert seen["a.empty"].headers == {}
    assert seen["a.object"].data == {"k": "v"}
    info = await bus.js.consumer_info(bus.names.stream, bus.names.durable("monitor", "all"))
    assert info.config.filter_subject == bus.names.all_subjects


async def test_a_command_typed_without_an_id_keeps_one_id_across_redeliveries(bus: Bus) -> None:
    """A message with no event_id gets one derived from its stream position: the redelivery of
    that message carries the same id, another message another one."""
    ids: list[str] = []

    async def flaky(event: FileRejected) -> None:
        ids.append(str(event.event_id))
        if len(ids) == 1:
            raise RetryableError("again")

    body = orjson.dumps({"path": "raw/a.json", "stage": "typed", "reason": "by hand"})
    consumer = await bus.consume(FILES_REJECTED, "svc", FileRejected, flaky)
    try:
        await bus.nc.publish(bus.names.subject(FILES_REJECTED), body)
        await bus.nc.publish(bus.names.subject(FILES_REJECTED), body)
        await eventually(lambda: _at_least(ids, 3))
    finally:
        await consumer.stop(grace_s=1)
    first = str(derived_id(bus.names.stream, "1"))
    second = str(derived_id(bus.names.stream, "2"))
    assert sorted(ids) == sorted([first, first, second])


async def test_every_line_logged_while_handling_names_the_message(bus: Bus) -> None:
    """What a handler logs carries the message's subject, stream position and delivery count,
    and nothing of the message handled before it."""
    contexts: list[dict[str, Any]] = []

    async def handler(event: FileRejected) -> None:
        contexts.append(structlog.contextvars.get_contextvars())
        if len(contexts) == 1:
            structlog.contextvars.bind_contextvars(leftover="from the first")
            raise RetryableError("again")

    consumer = await bus.consume(FILES_REJECTED, "svc", FileRejected, handler, max_in_flight=1)
    await bus.publish(_event())
    await eventually(lambda: _at_least(contexts, 2))
    await consumer.stop(grace_s=1)
    subject = bus.names.subject(FILES_REJECTED)
    assert contexts == [
        {"subject": subject, "stream_seq": 1, "num_delivered": 1},
        {"subject": subject, "stream_seq": 1, "num_delivered": 2},
    ]


async def test_an_id_the_sender_gave_is_kept(bus: Bus) -> None:
    """A message that carries its event_id is handed over with that id."""
    ids: list[str] = []

    async def handler(event: FileRejected) -> None:
        ids.append(str(event.event_id))

    event = _event()
    consumer = await bus.consume(FILES_REJECTED, "svc", FileRejected, handler)
    await bus.nc.publish(bus.names.subject(FILES_REJECTED), event.model_dump_json().encode())
    await eventually(lambda: _at_least(ids, 1))
    await consumer.stop(grace_s=1)
    assert ids == [str(event.event_id)]


async def test_long_work_is_kept_alive_and_not_redelivered(bus: Bus) -> None:
    """A handler that works past the ack wait is not handed to anyone else meanwhile: the bus
    tells the server the work is in progress."""
    calls: list[float] = []

    async def long_work(event: FileRejected) -> None:
        calls.append(time.monotonic())
        await asyncio.sleep(3.5)  # the work itself: three times the ack wait

    consumer = await bus.consume(
        FILES_REJECTED, "svc", FileRejected, long_work, ack_wait_s=1.2, max_deliver=3
    )
    await bus.publish(_event())
    durable = bus.names.durable("svc", FILES_REJECTED)
    await eventually(lambda: _settled(bus, durable), timeout_s=15)
    await consumer.stop(grace_s=1)
    assert len(calls) == 1
    info = await bus.js.consumer_info(bus.names.stream, durable)
    assert info.num_redelivered == 0
    assert info.config.ack_wait == pytest.approx(1.2)
    assert info.config.max_deliver == 3


async def test_a_consumer_is_durable_explicit_and_takes_the_stated_defaults(bus: Bus) -> None:
    """Without limits (the monitor's ack wait) a consumer acks explicitly, starts from the
    stream's first message, waits 60 s for an ack, delivers at most 5 times, and lets 16 wait;
    its durable name is the service's on that subject, so a restart resumes it."""
    received: list[FileRejected] = []

    async def handler(event: FileRejected) -> None:
        received.append(event)

    await bus.publish(_event())  # before the consumer exists: still delivered
    consumer = await bus.consume(FILES_REJECTED, "svc", FileRejected, handler)
    await eventually(lambda: _at_least(received, 1))
    await consumer.stop(grace_s=1)
    durable = bus.names.durable("svc", FILES_REJECTED)
    info = await bus.js.consumer_info(bus.names.stream, durable)
    assert info.config.durable_name == durable
    assert info.config.ack_policy == AckPolicy.EXPLICIT
    assert info.config.deliver_policy == DeliverPolicy.ALL
    assert info.config.ack_wait == pytest.approx(60)
    assert info.config.max_deliver == 5
    assert info.config.max_ack_pending == 16
    assert info.config.filter_subject == bus.names.subject(FILES_REJECTED)
    assert consumer.max_in_flight == 4


async def test_work_in_flight_is_bounded(bus: Bus) -> None:
    """At most ``max_in_flight`` handlers run at once; the server holds four times as many."""
    running: list[int] = []
    peak: list[int] = [0]
    release = asyncio.Event()
    done: list[int] = []

    async def held(event: FileRejected) -> None:
        running.append(1)
        peak[0] = max(peak[0], len(running))
        await release.wait()
        running.pop()
        done.append(1)

    consumer = await bus.consume(FILES_REJECTED, "svc", FileRejected, held, max_in_flight=2)
    for n in range(6):
        await bus.publish(_event(str(n)))
    await eventually(lambda: _at_least(running, 2))
    durable = bus.names.durable("svc", FILES_REJECTED)
    info = await bus.js.consumer_info(bus.names.stream, durable)
    assert info.config.max_ack_pending == 8
    assert info.num_pending == 4  # the other four wait on the server, not in this process
    release.set()
    await eventually(lambda: _at_least(done, 6))
    await consumer.stop(grace_s=1)
    assert peak[0] == 2


async def test_consuming_routes_every_subject_with_its_deps_and_stops_them_all(bus: Bus) -> None:
    """`consuming` starts one consumer a route, calls each handler with the deps, and on exit
    stops every consumer (their subscriptions end)."""
    seen: list[tuple[str, object]] = []

    async def on_rejected(event: FileRejected, deps: object) -> None:
        seen.append(("rejected", deps))

    async def on_collected(event: FileCollected, deps: object) -> None:
        seen.append(("collected", deps))

    deps = object()
    routes: list[Route] = [
        (FILES_REJECTED, FileRejected, on_rejected),
        (FILES_COLLECTED, FileCollected, on_collected),
    ]
    limits = ConsumerLimits(max_in_flight=1, ack_wait_s=5, max_deliver=2, grace_s=1)
    async with consuming(bus, "svc", routes, deps, limits) as consumers:
        await bus.publish(_event())
        collected = FileCollected(
            path="raw/a.json",
            sha256="0" * 64,
            size_bytes=2,
            record_type=RecordType.VEHICLES,
            source="drop",
            tool="test",
        )
        await bus.publish(collected)
        await eventually(lambda: _at_least(seen, 2))
    assert sorted(seen, key=lambda item: item[0]) == [("collected", deps), ("rejected", deps)]
    assert len(consumers) == 2
    for consumer in consumers:
        assert consumer.max_in_flight == 1
        assert consumer.max_deliver == 2
        assert consumer.ack_wait_s == 5
    info = await bus.js.consumer_info(bus.names.stream, bus.names.durable("svc", FILES_REJECTED))
    assert info.config.max_ack_pending == 4
    assert info.config.max_deliver == 2


async def test_the_stream_keeps_two_weeks_and_drops_repeats_within_two_minutes(bus: Bus) -> None:
    """The namespace's stream takes all its subjects, keeps messages 14 days, drops a repeated
    event id within the duplicate window; setting it up again (another replica) is harmless."""
    await bus.ensure_stream()
    info = await bus.js.stream_info(bus.names.stream)
    assert info.config.subjects == [bus.names.all_subjects]
    assert info.config.max_age == STREAM_MAX_AGE_S == 14 * 24 * 3600
    assert info.config.duplicate_window == DUPLICATE_WINDOW_S == 120
    assert info.config.num_replicas == 1
    event = _event()
    with capture_logs() as logs:
        await bus.publish(event)
        await bus.publish(event)
    assert await _stream_subjects(bus) == {bus.names.subject(FILES_REJECTED): 1}
    assert [entry["event"] for entry in logs] == ["bus.publish_duplicate"]
    assert logs[0]["seq"] == 1
    assert logs[0]["subject"] == bus.names.subject(FILES_REJECTED)


async def test_a_stream_set_up_by_an_older_version_is_brought_to_the_current_settings(
    bus: Bus,
) -> None:
    """A stream that exists with other settings (an older release kept messages 7 days) is
    updated in place, its messages kept."""
    await bus.publish(_event())
    info = await bus.js.stream_info(bus.names.stream)
    info.config.max_age = 7 * 24 * 3600
    await bus.js.update_stream(info.config)
    await bus.ensure_stream()
    info = await bus.js.stream_info(bus.names.stream)
    assert info.config.max_age == STREAM_MAX_AGE_S
    assert info.state.messages == 1


async def test_a_bucket_is_created_once_with_its_ttl_and_reopened(bus: Bus) -> None:
    """`open_bucket` creates a key-value bucket (history 1, the TTL asked for) and later opens it
    with what it holds."""
    name = f"{bus.names.stream}_test"
    bucket = await bus.open_bucket(name, ttl_s=30)
    await bucket.put("k", b"v1")
    await bucket.put("k", b"v2")
    again = await bus.open_bucket(name, ttl_s=999)
    entry = await again.get("k")
    assert entry.value == b"v2"
    status = await again.status()
    assert status.history == 1
    assert status.ttl == pytest.approx(30)
    assert status.stream_info.config.num_replicas == 1
    await bus.js.delete_key_value(name)


async def test_heartbeats_say_who_is_alive_every_interval(
    settings: PipelineSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connected process publishes a heartbeat every HEARTBEAT_S with its name and instance,
    and stops when it disconnects."""
    monkeypatch.setenv("HEARTBEAT_S", "0.2")
    beats: list[Heartbeat] = []

    async def on_beat(msg: Any) -> None:
        beats.append(Heartbeat.model_validate_json(msg.data))

    async with connect(PipelineSettings(), "probe-service") as bus:
        sub = await bus.nc.subscribe(bus.names.heartbeat("probe-service"), cb=on_beat)
        await eventually(lambda: _at_least(beats, 3), timeout_s=5)
        await sub.unsubscribe()
        await bus.js.delete_stream(bus.names.stream)
    assert {beat.service for beat in beats} == {"probe-service"}
    assert len({beat.instance for beat in beats}) == 1
    assert len({beat.started_at for beat in beats}) == 1
    assert beats[1].sent_at > beats[0].sent_at
    assert bus.nc.is_closed  # drained on exit


async def test_no_server_gives_one_clear_error_after_the_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing listening at NATS_URL: after CONNECT_WAIT_S (and STARTUP_WAIT_S, here 0) the
    service gets one line naming the address and what to check."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
        monkeypatch.setenv("NATS_URL", f"nats://user:secret@127.0.0.1:{port}")
        monkeypatch.setenv("DATABASE_URL", "postgresql://unused@127.0.0.1/unused")
        monkeypatch.setenv("CONNECT_WAIT_S", "1")
        monkeypatch.setenv("STARTUP_WAIT_S", "0")
        started = time.monotonic()
        with pytest.raises(ConfigError) as raised:
            async with connect(PipelineSettings(), "probe"):
                pass
    message = str(raised.value)
    assert isinstance(raised.value, ServerNotReadyError)  # worth waiting for, given the time
    assert message.startswith(f"cannot use NATS at nats://user:***@127.0.0.1:{port} within 1s")
    assert "secret" not in message
    assert message.endswith("check NATS_URL, the credentials, and that nats-server runs with -js")
    assert time.monotonic() - started < 10
