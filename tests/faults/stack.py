"""A stack of the four services as separate local processes, for fault tests.

Each service is its own process (``python -m services.<name>``, the container command), so a
test can SIGKILL one and start it again. Every stack has its own namespace, database and data
folder. ``TcpProxy`` sits between the services and PostgreSQL so a test can cut the database off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from services.runner import SERVICES, service_command
from shared.storage import DataDir
from tests.conftest import ADMIN_DSN, NATS_URL, dsn_for, unique

TABLES = ("vehicles", "events", "articles")


@dataclass
class Stack:
    """Four service processes sharing one namespace, database and data folder."""

    root: Path
    database: str
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    dropped: list[bytes] = field(default_factory=list)  # every file moved into the inbox

    @classmethod
    async def create(cls, root: Path, **extra_env: str) -> Stack:
        """Create the database and the environment of a new, isolated stack."""
        database = unique("pipeline_fault_")
        admin = await asyncpg.connect(ADMIN_DSN)
        await admin.execute(f'CREATE DATABASE "{database}"')
        await admin.close()
        env = {
            **os.environ,
            "NATS_URL": NATS_URL,
            "DATABASE_URL": dsn_for(database),
            "DATA_DIR": str(root / "data"),
            "PIPELINE_NAMESPACE": unique("f"),
            "MONITOR_PORT": "0",
            "COLLECTOR_STABLE_S": "0.3",
            "COLLECTOR_RESCAN_S": "2",
            "SHUTDOWN_GRACE_S": "5",
            "PROCESSOR_ACK_WAIT_S": "10",
            "IMPORTER_ACK_WAIT_S": "10",
            **extra_env,
        }
        (root / "logs").mkdir(parents=True, exist_ok=True)
        return cls(root=root, database=database, env=env)

    @property
    def data(self) -> Path:
        """Return the data folder."""
        return Path(self.env["DATA_DIR"])

    def start(self, name: str, without: tuple[str, ...] = (), **extra_env: str) -> None:
        """Start one service process (appending to its log), with ``extra_env`` on top and the
        variables named in ``without`` removed."""
        command = [sys.executable, *service_command(name)[1:]]
        log = (self.root / "logs" / f"{name}.log").open("ab")
        env = {k: v for k, v in {**self.env, **extra_env}.items() if k not in without}
        self.procs[name] = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        log.close()

    def start_all(self, extra_env: Mapping[str, Mapping[str, str]] | None = None) -> None:
        """Lay out the data folder (as `pipeline up` does), then start the four services.

        ``extra_env`` maps a service name to variables only that service gets.
        """
        DataDir(self.data).ensure_layout()
        for name in SERVICES:
            self.start(name, **(extra_env or {}).get(name, {}))

    def log_text(self, name: str) -> str:
        """Return what one service wrote to its log so far (every start appended)."""
        return (self.root / "logs" / f"{name}.log").read_text(errors="replace")

    def kill(self, name: str) -> None:
        """SIGKILL one service and reap it."""
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def alive(self) -> dict[str, bool]:
        """Return which services are still running."""
        return {name: proc.poll() is None for name, proc in self.procs.items()}

    def stop_all(self, timeout_s: float = 30) -> dict[str, int | None]:
        """SIGTERM every service and return the exit codes."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                codes[name] = None
        return codes

    async def drop(self, record_type: str, name: str, records: list[Any]) -> None:
        """Write a file outside the inbox, then move it in (like cp + mv of a finished file)."""
        outbox = self.root / "outbox"
        outbox.mkdir(exist_ok=True)
        source = outbox / name
        content = json.dumps(records).encode()
        source.write_bytes(content)
        self.dropped.append(content)
        inbox = self.data / "inbox" / record_type
        inbox.mkdir(parents=True, exist_ok=True)
        source.replace(inbox / name)

    async def rows(self) -> dict[str, set[Any]]:
        """Return each table's rows (natural key, source) and its near-duplicate clusters.

        Clusters are compared as sets of members: which member is the canonical listing
        depends on arrival order, the grouping must not.
        """
        conn = await asyncpg.connect(self.env["DATABASE_URL"])
        try:
            result: dict[str, set[Any]] = {}
            for table in TABLES:
                if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
                    result[table] = result[f"{table}_clusters"] = set()
                    continue
                records = await conn.fetch(
                    f"SELECT data_hash, canonical_hash, source_name FROM {table}"
                )
                result[table] = {(r["data_hash"], r["source_name"]) for r in records}
                groups: dict[str, set[str]] = {}
                for r in records:
                    root = r["canonical_hash"] or r["data_hash"]
                    groups.setdefault(root, {root}).add(r["data_hash"])
                result[f"{table}_clusters"] = {frozenset(g) for g in groups.values() if len(g) > 1}
            return result
        finally:
            await conn.close()

    def failed_record_counts(self) -> Counter[str]:
        """Return each failed record (validation and import) with how often it is kept."""
        found: Counter[str] = Counter()
        for path in (self.data / "failed").rglob("*.jsonl"):
            for line in path.read_text().splitlines():
                if line.strip():
                    item = json.loads(line)
                    item.pop("raw_file", None)
                    item.pop("position", None)
                    found[json.dumps(item.get("record", item), sort_keys=True)] += 1
        return found

    async def row_counts(self) -> dict[str, int]:
        """Return each table's number of rows (a set of rows would hide a row loaded twice),
        and the listings' observations (one per listing and batch, whatever was redelivered)."""
        conn = await asyncpg.connect(self.env["DATABASE_URL"])
        try:
            counts: dict[str, int] = {}
            for table in (*TABLES, "vehicle_observations"):
                if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
                    counts[table] = int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
                else:
                    counts[table] = 0
            return counts
        finally:
            await conn.close()

    async def vehicle_rows(self) -> int:
        """Return the number of vehicles rows, read from the stack's database directly (not
        through the DATABASE_URL a test may have pointed at a proxy or a closed port)."""
        conn = await asyncpg.connect(dsn_for(self.database))
        try:
            if not await conn.fetchval("SELECT to_regclass('vehicles') IS NOT NULL"):
                return 0
            return int(await conn.fetchval("SELECT count(*) FROM vehicles"))
        finally:
            await conn.close()

    async def imported_batches(self) -> int:
        """Return how many batches the importer has committed (0 before its migrations ran)."""
        conn = await asyncpg.connect(self.env["DATABASE_URL"])
        try:
            if not await conn.fetchval("SELECT to_regclass('import_batches') IS NOT NULL"):
                return 0
            return int(await conn.fetchval("SELECT count(*) FROM import_batches"))
        finally:
            await conn.close()

    async def destroy(self) -> None:
        """Stop the processes and drop the database."""
        self.stop_all(timeout_s=10)
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        finally:
            await admin.close()


def with_port(dsn: str, port: int) -> str:
    """Return ``dsn`` pointed at ``port`` on the same host (through a ``TcpProxy``)."""
    parts = urlsplit(dsn)
    host = parts.hostname or "127.0.0.1"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}:{port}"))


class TcpProxy:
    """A TCP relay on 127.0.0.1 that can refuse and cut connections on demand."""

    def __init__(self, target_host: str, target_port: int) -> None:
        """Relay to ``target_host:target_port`` once started."""
        self.target = (target_host, target_port)
        self.enabled = True
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self, port: int = 0) -> None:
        """Listen on ``port`` (0: a free one)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        """Drop every open connection and refuse new ones."""
        self.enabled = False
        for writer in list(self._writers):
            writer.close()

    def restore(self) -> None:
        """Accept connections again."""
        self.enabled = True

    async def close(self) -> None:
        """Stop listening and drop everything."""
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.enabled:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update({writer, up_writer})
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        self._writers.difference_update({writer, up_writer})

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()
