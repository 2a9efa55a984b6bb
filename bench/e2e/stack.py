"""One isolated stack of local service processes: its own database, namespace and data folder.

The services run with the same command as ``pipeline up`` and their containers
(``python -m services.<name>``, see ``services.runner.service_command``); the processor and the
importer can run several replicas, which share the work through their durable consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import nats
import nats.js.errors

from services.runner import service_command
from shared.subjects import Names

ADMIN_DSN = os.environ.get(
    "TEST_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
NATS_URL = os.environ.get("NATS_URL", "nats://127.0.0.1:4222")
STARTED = b'"service.started"'
REPO = Path(os.environ.get("BENCH_SOURCE_DIR") or Path(__file__).resolve().parents[2])
"""The code the services run: this repository, or ``BENCH_SOURCE_DIR`` (e.g. a snapshot)."""


def unique(prefix: str) -> str:
    """Return a short unique lower-case name (database, namespace)."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def dsn_for(database: str) -> str:
    """Return the admin DSN pointed at another database."""
    base, _, _ = ADMIN_DSN.rpartition("/")
    return f"{base}/{database}"


async def create_database(prefix: str) -> tuple[str, str]:
    """Create an empty database; return its name and DSN."""
    name = unique(prefix)
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name, dsn_for(name)


async def drop_database(name: str) -> None:
    """Drop a database made by ``create_database``, even with open sessions."""
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """One running service process and its log file."""

    name: str
    replica: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def label(self) -> str:
        """Return ``name`` or ``name#replica``."""
        return self.name if self.replica == 0 else f"{self.name}#{self.replica}"

    def started(self) -> bool:
        """Return True once the service logged ``service.started``."""
        return STARTED in self.log.read_bytes()

    def peak_rss_mb(self) -> float | None:
        """Return the service's peak resident memory in MiB (``peak_rss_mb``), if it still runs."""
        return peak_rss_mb(self.proc.pid)


def peak_rss_mb(pid: int) -> float | None:
    """Return the peak resident memory (VmHWM) of a process and its children, in MiB.

    What a container would hold: the service and its helpers (the processor's reader process).
    The sum of each one's peak, so never less than the peak of the sum. None if the process has
    ended.
    """
    own = _vm_hwm_kib(pid)
    if own is None:
        return None
    descendants = children(pid)
    return (own + sum(_vm_hwm_kib(child) or 0 for child in descendants)) / 1024


def _vm_hwm_kib(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def children(pid: int) -> list[int]:
    """Return every descendant of ``pid`` (from /proc/PID/task/TID/children)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found += [int(child), *children(int(child))]
    return found


@dataclass
class Stack:
    """An isolated stack: create it with ``Stack.create``, then ``start``, ``stop``, ``destroy``."""

    root: Path
    database: str
    env: dict[str, str]
    source: Path = REPO
    services: list[Service] = field(default_factory=list)

    @classmethod
    async def create(
        cls, root: Path, extra_env: dict[str, str] | None = None, source: Path = REPO
    ) -> Stack:
        """Make a fresh database, namespace and data folder under ``root``.

        ``source`` is the folder whose ``services``/``shared`` packages run (the repository, or
        a snapshot of it such as ``git archive HEAD``); the processes start in it.
        """
        database, dsn = await create_database("pipeline_bench_")
        env = {
            **os.environ,
            "NATS_URL": NATS_URL,
            "DATABASE_URL": dsn,
            "DATA_DIR": str(root / "data"),
            "PIPELINE_NAMESPACE": unique("bench"),
            "MONITOR_PORT": str(_free_port()),
            "COLLECTOR_STABLE_S": "0.3",
            "COLLECTOR_RESCAN_S": "2",
            "LOG_LEVEL": "INFO",
            "PYTHONPATH": str(source),
            **(extra_env or {}),
        }
        return cls(root=root, database=database, env=env, source=source)

    @property
    def data(self) -> Path:
        """Return the data folder."""
        return Path(self.env["DATA_DIR"])

    @property
    def dsn(self) -> str:
        """Return the stack's database DSN."""
        return self.env["DATABASE_URL"]

    def start(self, processors: int = 1, importers: int = 1) -> None:
        """Start the collector, the monitor, and the requested processor and importer replicas."""
        self.root.mkdir(parents=True, exist_ok=True)
        plan = [
            ("importer", importers),
            ("monitor", 1),
            ("processor", processors),
            ("collector", 1),
        ]
        for name, count in plan:
            for replica in range(count):
                log = self.root / f"{name}-{replica}.log"
                command = [sys.executable, *service_command(name)[1:]]
                with log.open("wb") as out:
                    proc = subprocess.Popen(
                        command, env=self.env, cwd=self.source, stdout=out, stderr=subprocess.STDOUT
                    )
                self.services.append(Service(name, replica if count > 1 else 0, proc, log))

    async def wait_started(self, timeout_s: float = 60.0) -> None:
        """Wait until every service logged ``service.started``; fail if one exits first."""
        deadline = time.monotonic() + timeout_s
        while not all(service.started() for service in self.services):
            for service in self.services:
                if service.proc.poll() is not None:
                    msg = f"{service.label} exited ({service.proc.returncode}); see {service.log}"
                    raise RuntimeError(msg)
            if time.monotonic() > deadline:
                msg = f"services not started within {timeout_s}s; logs in {self.root}"
                raise TimeoutError(msg)
            await asyncio.sleep(0.1)  # polling the logs of other processes

    def peak_memory_mb(self) -> dict[str, float | None]:
        """Return each running service's peak RSS in MiB (read it before ``stop``)."""
        return {service.label: service.peak_rss_mb() for service in self.services}

    def stop(self, timeout_s: float = 40.0) -> dict[str, int | None]:
        """Send SIGTERM to every service, wait, kill stragglers; return their exit codes."""
        for service in self.services:
            if service.proc.poll() is None:
                service.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for service in self.services:
            try:
                service.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                service.proc.kill()
                service.proc.wait()
        return {service.label: service.proc.returncode for service in self.services}

    async def destroy(self, *, keep_files: bool = False) -> None:
        """Stop the services, drop the database, the stream and the bucket, remove the files."""
        self.stop()
        await drop_database(self.database)
        names = Names(self.env["PIPELINE_NAMESPACE"])
        nc = await nats.connect(self.env["NATS_URL"])
        try:
            js = nc.jetstream()
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(names.stream)
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_key_value(names.files_bucket)
        finally:
            await nc.drain()
        if not keep_files:
            shutil.rmtree(self.data, ignore_errors=True)


def drop_files(files: list[Path], inbox: Path) -> None:
    """Copy files into an inbox folder as ``cp`` would (the collector waits for them to settle)."""
    inbox.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copyfile(path, inbox / path.name)
