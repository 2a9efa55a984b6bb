"""Outages and stops: PostgreSQL cut off, NATS restarted, SIGTERM mid-work. The services say so,
keep their work, recover by themselves, and leave no partial file visible.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from services.localservers import nats_server_program
from tests.conftest import ADMIN_DSN, dsn_for
from tests.faults.data import valid_keys, vehicle_files
from tests.faults.outputs import incomplete_outputs, reported_files, temporary_files
from tests.faults.stack import Stack, TcpProxy, with_port
from tests.polling import eventually
from tests.ports import free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.nats,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]

PG_OUTAGE_S = float(os.environ.get("FAULT_PG_OUTAGE_S", "30"))
NATS_SERVER = str(nats_server_program())


async def _at_least(stack: Stack, count: int) -> bool:
    return await stack.vehicle_rows() >= count


async def _tables_exist(stack: Stack) -> bool:
    conn = await asyncpg.connect(dsn_for(stack.database))
    try:
        return bool(await conn.fetchval("SELECT to_regclass('vehicles') IS NOT NULL"))
    finally:
        await conn.close()


async def _all_reported(stack: Stack, files: int) -> bool:
    return len(reported_files(stack.data)) >= files


async def test_postgres_cut_off_for_a_while_then_everything_loads(tmp_path: Path) -> None:
    """With PostgreSQL unreachable mid-run, services stay up and load everything once it is back."""
    files = vehicle_files(5, 2, 300)
    stack = await Stack.create(tmp_path)
    admin = urlsplit(ADMIN_DSN)
    proxy = TcpProxy(admin.hostname or "127.0.0.1", admin.port or 5432)
    await proxy.start()
    stack.env["DATABASE_URL"] = with_port(dsn_for(stack.database), proxy.port)
    try:
        stack.start_all()
        await stack.drop("vehicles", "first.json", files[0])
        await eventually(lambda: _at_least(stack, len(valid_keys(files[:1]))), timeout_s=90)
        proxy.cut()
        await stack.drop("vehicles", "second.json", files[1])
        await asyncio.sleep(PG_OUTAGE_S)  # the outage itself: a duration, not synchronisation
        assert all(stack.alive().values()), stack.alive()
        proxy.restore()
        total = len(valid_keys(files))
        await eventually(lambda: _at_least(stack, total), timeout_s=180, interval_s=0.5)
        assert await stack.vehicle_rows() == total
        assert all(stack.alive().values())
        assert incomplete_outputs(stack.data, stack.dropped, settled=True) == []
    finally:
        await stack.destroy()
        await proxy.close()


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[dict[str, object]]:
    """Run a nats-server of the test's own, which the test may kill and restart."""
    port = free_port()
    command = [NATS_SERVER, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(tmp_path / "js")]
    state: dict[str, object] = {"port": port, "command": command}
    state["proc"] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield state
    proc = state["proc"]
    assert isinstance(proc, subprocess.Popen)
    proc.terminate()
    proc.wait(timeout=10)


async def test_nats_restarted_mid_run(tmp_path: Path, private_nats: dict[str, object]) -> None:
    """NATS killed and restarted (same store): services reconnect and nothing is lost."""
    files = vehicle_files(7, 2, 300)
    stack = await Stack.create(tmp_path, NATS_URL=f"nats://127.0.0.1:{private_nats['port']}")
    try:
        stack.start_all()
        await stack.drop("vehicles", "first.json", files[0])
        await eventually(lambda: _at_least(stack, len(valid_keys(files[:1]))), timeout_s=90)
        proc = private_nats["proc"]
        assert isinstance(proc, subprocess.Popen)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        await stack.drop("vehicles", "second.json", files[1])
        await asyncio.sleep(5)  # the outage itself
        command = private_nats["command"]
        assert isinstance(command, list)
        private_nats["proc"] = subprocess.Popen(  # noqa: ASYNC220 - starts at once, no wait
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        total = len(valid_keys(files))
        await eventually(lambda: _at_least(stack, total), timeout_s=180, interval_s=0.5)
        assert await stack.vehicle_rows() == total
        assert all(stack.alive().values()), stack.alive()
        assert incomplete_outputs(stack.data, stack.dropped, settled=True) == []
    finally:
        await stack.destroy()


async def test_sigterm_mid_work_exits_cleanly_and_resumes(tmp_path: Path) -> None:
    """SIGTERM while files are in flight: exit 0, no partial file, a restart finishes the job."""
    files = vehicle_files(9, 4, 1500)
    stack = await Stack.create(tmp_path)
    try:
        stack.start_all()
        await eventually(lambda: _tables_exist(stack), timeout_s=30)
        for number, records in enumerate(files):
            await stack.drop("vehicles", f"f{number}.json", records)
        await eventually(lambda: _at_least(stack, 1), timeout_s=90, interval_s=0.05)
        codes = stack.stop_all(timeout_s=40)
        assert codes == dict.fromkeys(codes, 0), codes
        expected = len(valid_keys(files))
        assert await stack.vehicle_rows() < expected, "the stop came after all the work"
        assert incomplete_outputs(stack.data, stack.dropped, settled=False) == []
        assert temporary_files(stack.data) == []
        stack.start_all()
        await eventually(lambda: _at_least(stack, expected), timeout_s=180, interval_s=0.5)
        assert await stack.vehicle_rows() == expected
        await eventually(lambda: _all_reported(stack, len(files)), timeout_s=30)
        assert incomplete_outputs(stack.data, stack.dropped, settled=True) == []
        assert temporary_files(stack.data) == []
    finally:
        await stack.destroy()
