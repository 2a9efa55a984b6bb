"""The bus against a private nats-server: a restart under a running consumer, a server without
JetStream."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from services.localservers import nats_server_program
from shared.bus import connect
from shared.errors import ConfigError
from shared.events import FileRejected, RecordType
from shared.settings import PipelineSettings
from shared.subjects import FILES_REJECTED
from tests.polling import eventually
from tests.ports import free_port, listening

pytestmark = pytest.mark.nats


def _start(port: int, store: Path | None) -> subprocess.Popen[bytes]:
    """Start a private nats-server on ``port``, with JetStream keeping its data in ``store``
    (None: no JetStream)."""
    command = [str(nats_server_program()), "-a", "127.0.0.1", "-p", str(port)]
    if store is not None:
        command += ["-js", "-sd", str(store)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _event(reason: str) -> FileRejected:
    return FileRejected(
        path="raw/x.json", stage="test", reason=reason, record_type=RecordType.EVENTS
    )


async def test_a_consumer_goes_on_after_the_server_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopping the server under a running consumer loses nothing: once it is back, the
    consumer fetches again and handles the next message; the outage and the reconnection are
    logged."""
    port = free_port()
    server = _start(port, tmp_path / "js")
    received: list[str] = []

    async def handler(event: FileRejected) -> None:
        received.append(event.reason)

    async def count(n: int) -> bool:
        return len(received) >= n

    monkeypatch.setenv("NATS_URL", f"nats://127.0.0.1:{port}")
    monkeypatch.setenv("DATABASE_URL", "postgresql://unused@127.0.0.1/unused")
    try:
        await eventually(lambda: listening(port))
        async with connect(PipelineSettings(), "test") as bus:
            consumer = await bus.consume(FILES_REJECTED, "svc", FileRejected, handler)
            await bus.publish(_event("before"))
            await eventually(lambda: count(1))
            with capture_logs() as logs:
                server.terminate()
                server.wait(timeout=10)
                server = _start(port, tmp_path / "js")
                await eventually(lambda: listening(port))

                async def published() -> bool:
                    try:
                        await bus.publish(_event("after"))
                    except Exception:  # noqa: BLE001 - reconnecting: try again
                        return False
                    return True

                await eventually(published, timeout_s=30)
                await eventually(lambda: count(2), timeout_s=30)
            await consumer.stop(grace_s=1)
            await bus.js.delete_stream(bus.names.stream)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert received == ["before", "after"]
    events = [(entry["event"], entry["log_level"]) for entry in logs]
    assert ("nats.disconnected", "warning") in events
    assert ("nats.reconnected", "info") in events


async def test_a_server_without_jetstream_gives_one_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A nats-server started without -js: the service stops with one line saying so."""
    port = free_port()
    server = _start(port, None)
    monkeypatch.setenv("NATS_URL", f"nats://user:secret@127.0.0.1:{port}")
    monkeypatch.setenv("DATABASE_URL", "postgresql://unused@127.0.0.1/unused")
    monkeypatch.setenv("STARTUP_WAIT_S", "0")
    try:
        await eventually(lambda: listening(port))
        with pytest.raises(ConfigError) as raised:
            async with connect(PipelineSettings(), "test"):
                pass
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert str(raised.value) == (
        f"NATS at nats://user:***@127.0.0.1:{port} has no JetStream; start nats-server with -js"
    )
