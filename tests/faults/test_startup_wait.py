"""Services started before NATS and PostgreSQL accept connections wait for them, then work.

Compose starts every container at once, and podman-compose (or a host reboot) does not wait for
health checks: the four services must not exit while the servers' ports are still closed.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from services.runner import SERVICES
from tests.conftest import dsn_for
from tests.faults.data import valid_keys, vehicle_files
from tests.faults.stack import Stack, TcpProxy, with_port
from tests.polling import eventually
from tests.ports import free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.nats,
    pytest.mark.postgres,
    pytest.mark.timeout(240),
]


async def test_services_started_before_their_servers_come_up_when_the_servers_appear(
    tmp_path: Path,
) -> None:
    """With both ports closed at start, every service logs its waits, stays up, starts once the
    servers listen, and a dropped file is loaded."""
    files = vehicle_files(11, 1, 50)
    pg_port, nats_port = free_port(), free_port()
    stack = await Stack.create(
        tmp_path,
        NATS_URL=f"nats://127.0.0.1:{nats_port}",
        CONNECT_WAIT_S="2",
        STARTUP_WAIT_S="120",
    )
    stack.env["DATABASE_URL"] = with_port(dsn_for(stack.database), pg_port)
    pg, nats = TcpProxy("127.0.0.1", 5432), TcpProxy("127.0.0.1", 4222)
    try:
        stack.start_all()

        async def all_waiting() -> bool:
            return all("startup.waiting" in stack.log_text(name) for name in SERVICES)

        await eventually(all_waiting, timeout_s=60, interval_s=0.5)
        assert all(stack.alive().values()), stack.alive()
        for name in SERVICES:
            assert "service.started" not in stack.log_text(name)
            assert "password" not in stack.log_text(name).lower()

        await pg.start(pg_port)
        await nats.start(nats_port)

        async def all_started() -> bool:
            return all("service.started" in stack.log_text(name) for name in SERVICES)

        await eventually(all_started, timeout_s=90, interval_s=0.5)
        await stack.drop("vehicles", "late.json", files[0])
        expected = len(valid_keys(files[:1]))
        await eventually(lambda: _at(stack, expected), timeout_s=90, interval_s=0.5)
        assert all(stack.alive().values()), stack.alive()
    finally:
        await stack.destroy()
        await pg.close()
        await nats.close()


async def _at(stack: Stack, count: int) -> bool:
    return await stack.vehicle_rows() >= count


async def test_a_service_waiting_for_its_servers_stops_at_once_on_sigterm(tmp_path: Path) -> None:
    """SIGTERM while the importer waits for a closed PostgreSQL port: it exits 0 within seconds
    (compose's `down` then does not wait out the stop grace and kill it)."""
    stack = await Stack.create(tmp_path, STARTUP_WAIT_S="300")
    stack.env["DATABASE_URL"] = with_port(dsn_for(stack.database), free_port())
    try:
        stack.start("importer")

        async def waiting() -> bool:
            return "startup.waiting" in stack.log_text("importer")

        await eventually(waiting, timeout_s=30, interval_s=0.2)
        started = time.monotonic()
        stack.procs["importer"].send_signal(signal.SIGTERM)
        assert stack.procs["importer"].wait(timeout=15) == 0
        assert time.monotonic() - started < 5
        assert "service.stopped" in stack.log_text("importer")
    finally:
        await stack.destroy()
