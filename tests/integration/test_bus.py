"""The bus against the real JetStream server: the ack policy of shared.bus, end to end."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from structlog.testing import capture_logs

from shared.bus import Bus, Consumer, Envelope
from shared.errors import PermanentError, RetryableError
from shared.events import FileRejected, RecordType
from shared.subjects import FILES_REJECTED
from tests.polling import eventually

pytestmark = pytest.mark.nats


def _event(reason: str = "r") -> FileRejected:
    return FileRejected(
        path="raw/x.json", stage="test", reason=reason, record_type=RecordType.EVENTS
    )


async def _dlq_messages(bus: Bus) -> list[Envelope]:
    seen: list[Envelope] = []

    async def collect(envelope: Envelope) -> None:
        seen.append(envelope)

    consumer: Consumer[Any] = await bus.consume("dlq.>", "probe", None, collect)
    try:
        await eventually(lambda: _true_if(seen), timeout_s=10)
    finally:
        await consumer.stop(grace_s=1)
    return seen


async def _true_if(items: list[Envelope]) -> bool:
    return bool(items)


async def test_handled_message_is_acked_once(bus: Bus) -> None:
    """A handler that returns gets the event once, decoded into its model."""
    received: list[FileRejected] = []

    async def handler(event: FileRejected) -> None:
        received.append(event)

    consumer = await bus.consume(FILES_REJECTED, "svc", FileRejected, handler)
    event = _event()
    await bus.publish(event)
    await bus.publish(event)  # same event_id: JetStream dedupe drops the second
    await eventually(lambda: _true_if(received))  # type: ignore[arg-type]
    await consumer.stop(grace_s=2)
    info = await bus.js.consumer_info(bus.names.stream, bus.names.durable("svc", FILES_REJECTED))
    assert [e.event_id for e in received] == [event.event_id]
    assert info.num_ack_pending == 0
    assert info.num_pending == 0
    # Acked, not handed back: the ack floor reached the one delivery, which was not redelivered.
    assert info.delivered.stream_seq == 1
    assert info.ack_floor.stream_seq == 1
    assert info.num_redelivered == 0


async def test_retryable_error_is_redelivered_until_success(bus: Bus) -> None:
    """A RetryableError naks the message; the next delivery succeeds and is acked."""
    attempts: list[int] = []

    async def flaky(event: FileRejected) -> None:
        attempts.append(1)
        if len(attempts) < 2:
            raise RetryableError("not yet")

    consumer = await bus.consume(FILES_REJECTED, "svc", FileRejected, flaky)
    await bus.publish(_event())
    await eventually(lambda: _true_if(attempts[1:]))  # type: ignore[arg-type]
    await consumer.stop(grace_s=2)
    assert len(attempts) == 2


async def test_permanent_error_goes_to_dead_letter_with_reason(bus: Bus) -> None:
    """A PermanentError publishes the payload to dlq.<subject> with the reason, and terms it."""

    async def broken(event: FileRejected) -> None:
        raise PermanentError("cannot ever work")

    consumer = await bus.consume(FILES_REJECTED, "svc", FileRejected, broken)
    event = _event("boom")
    await bus.publish(event)
    dead = await _dlq_messages(bus)
    await consumer.stop(grace_s=2)
    assert dead[0].subject == f"dlq.{FILES_REJECTED}"
    assert dead[0].data["event_id"] == str(event.event_id)
    assert "cannot ever work" in dead[0].headers["Pipeline-Error"]


async def test_invalid_payload_is_dead_lettered_not_retried(bus: Bus) -> None:
    """A payload that fails validation never reaches the handler and goes to the DLQ."""
    called: list[object] = []

    async def handler(event: FileRejected) -> None:
        called.append(event)

    consumer = await bus.consume(FILES_REJECTED, "svc", FileRejected, handler)
    await bus.nc.publish(bus.names.subject(FILES_REJECTED), orjson.dumps({"path": 3}))
    dead = await _dlq_messages(bus)
    await consumer.stop(grace_s=2)
    assert called == []
    assert "invalid payload" in dead[0].headers["Pipeline-Error"]


async def test_exhausted_retries_end_in_dead_letter(bus: Bus) -> None:
    """An unexpected error on the last allowed delivery dead-letters the message."""

    async def always_fails(event: FileRejected) -> None:
        raise ValueError("bug")

    consumer = await bus.consume(FILES_REJECTED, "svc", FileRejected, always_fails, max_deliver=1)
    await bus.publish(_event())
    dead = await _dlq_messages(bus)
    await consumer.stop(grace_s=2)
    assert "failed 1 times" in dead[0].headers["Pipeline-Error"]


async def test_stop_hands_back_unfinished_work(bus: Bus) -> None:
    """On stop, a handler still running after the grace period is cancelled and naked."""
    started = asyncio.Event()

    async def slow(event: FileRejected) -> None:
        started.set()
        await asyncio.Event().wait()

    consumer = await bus.consume(FILES_REJECTED, "svc", FileRejected, slow)
    await bus.publish(_event())
    await asyncio.wait_for(started.wait(), 10)
    with capture_logs() as logs:
        await consumer.stop(grace_s=0.1)
    assert [(e["event"], e["log_level"]) for e in logs] == [("bus.handed_back", "warning")]
    received: list[FileRejected] = []

    async def quick(event: FileRejected) -> None:
        received.append(event)

    again = await bus.consume(FILES_REJECTED, "svc", FileRejected, quick)
    await eventually(lambda: _true_if(received))  # type: ignore[arg-type]
    await again.stop(grace_s=1)
    assert len(received) == 1
