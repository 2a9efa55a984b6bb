"""Where a raw file is read: a child process beside the service (default), or a worker thread.

Reading (parse, map, validate, enrich, prepare the matching keys) is pure Python and, in one
process, holds the interpreter lock while the linking side also needs it. A ``ReaderProcess``
reads in a child process instead, so reading the next chunk and linking this one run on two
cores: the service sends it a ``ReadJob``, gets ``Chunk``s back (pickled over a socket) and
writes them itself, so the outputs and their atomic renames stay in the service.

The child serves one job at a time and lives as long as the service. It ignores SIGINT (a
terminal's Ctrl-C reaches the whole process group; the service decides when to stop) and ends
when its socket closes, also when the service is killed. If the child dies, the call raises
``ReaderDiedError`` (transient: the message is redelivered) and the next job starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import socket
import subprocess
import sys
import traceback
from collections.abc import AsyncIterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from shared import lifecycle
from shared.errors import RetryableError
from shared.logs import configure_logging

from .chunks import Chunk, ChunkReader, ReadJob
from .summary import Summary


class ReaderDiedError(RetryableError):
    """The reader process ended in the middle of a job."""


class Reading(Protocol):
    """Reads one job at a time, chunk by chunk."""

    async def start(self, job: ReadJob) -> None:
        """Begin reading ``job``'s file (any earlier job is dropped)."""

    async def next(self) -> Chunk:
        """Return the next chunk of the current job."""

    async def finish(self) -> Summary:
        """End the current job; return its summary with the reading side's counts."""


class InThread:
    """Reads in a worker thread of the service's own process."""

    def __init__(self) -> None:
        """No job yet."""
        self._reader: ChunkReader | None = None

    async def start(self, job: ReadJob) -> None:
        """Begin reading ``job``'s file."""
        self._reader = job.open()

    async def next(self) -> Chunk:
        """Return the next chunk, read in a worker thread."""
        assert self._reader is not None, "start a job first"  # noqa: S101
        return await asyncio.to_thread(self._reader.read)

    async def finish(self) -> Summary:
        """End the job; return its summary."""
        assert self._reader is not None, "start a job first"  # noqa: S101
        reader, self._reader = self._reader, None
        reader.close()
        return reader.summary


class ReaderProcess:
    """Reads in a child process (started on the first job, kept for the next ones).

    The child is ``python -m services.processor.reader_process FD LEVEL``, talking over one end of a
    socket pair (``multiprocessing.connection`` framing): a plain subprocess rather than a
    multiprocessing spawn, which would add a resource-tracker process (~13 MB) and re-import the
    service's main module.
    """

    def __init__(self, log_level: str = "INFO") -> None:
        """Remember how the child logs; nothing starts before the first job."""
        self.log_level = log_level
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None

    @property
    def pid(self) -> int | None:
        """Return the child's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def spawn(self) -> None:
        """Start the child now rather than on the first job (blocking: imports take ~1 s)."""
        self._connect()

    async def start(self, job: ReadJob) -> None:
        """Begin reading ``job``'s file in the child (starting the child if needed)."""
        await asyncio.to_thread(self._call, "start", job)

    async def next(self) -> Chunk:
        """Return the next chunk, read in the child."""
        chunk: Chunk = await asyncio.to_thread(self._call, "next")
        return chunk

    async def finish(self) -> Summary:
        """End the job in the child; return its summary."""
        summary: Summary = await asyncio.to_thread(self._call, "finish")
        return summary

    def close(self) -> None:
        """Stop the child: closing its socket ends it; it is killed if it does not end at once."""
        conn, process = self._conn, self._process
        self._conn = self._process = None
        if conn is not None:
            conn.close()
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _call(self, command: str, *args: Any) -> Any:
        conn = self._connect()
        try:
            conn.send((command, args))
            status, value = conn.recv()
        except (EOFError, OSError) as exc:
            code = self._process.poll() if self._process is not None else None
            self.close()
            msg = f"the reader process ended during {command!r} (exit code {code})"
            raise ReaderDiedError(msg) from exc
        if status == "error":
            raise value
        return value

    def _connect(self) -> Connection:
        if self._conn is None:
            ours, theirs = socket.socketpair()
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, *_pythonpath()])}
            command = [sys.executable, "-m", __name__, str(theirs.fileno()), self.log_level]
            with theirs:
                self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                    command, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env
                )
            self._conn = Connection(ours.detach())
        return self._conn


ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding ``services``


def _pythonpath() -> list[str]:
    return [path for path in os.environ.get("PYTHONPATH", "").split(os.pathsep) if path]


class ReaderProcesses:
    """One reader process per file processed at once (``PROCESSOR_MAX_IN_FLIGHT``)."""

    def __init__(self, size: int, log_level: str = "INFO") -> None:
        """Make ``size`` reader processes; each starts on its first job."""
        self.members = [ReaderProcess(log_level) for _ in range(size)]
        self._idle: asyncio.Queue[ReaderProcess] = asyncio.Queue()
        for member in self.members:
            self._idle.put_nowait(member)

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[ReaderProcess]:
        """Lend an idle reader process for one job."""
        member = await self._idle.get()
        try:
            yield member
        finally:
            self._idle.put_nowait(member)

    def close(self) -> None:
        """Stop every child."""
        for member in self.members:
            member.close()


def serve(conn: Connection, log_level: str) -> None:
    """The child's loop: run each command on the current job and send back its outcome."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging(log_level)
    lifecycle.tune_gc()
    lifecycle.limit_malloc_arenas()
    reader: ChunkReader | None = None
    while True:
        try:
            command, args = conn.recv()
        except (EOFError, OSError):  # the service closed its end or ended
            return
        try:
            if command == "start":
                if reader is not None:
                    reader.close()
                reader = args[0].open()
                outcome: tuple[str, Any] = ("ok", None)
            elif reader is None:
                outcome = ("error", RuntimeError(f"{command!r} before 'start'"))
            elif command == "next":
                outcome = ("ok", reader.read())
            else:  # "finish"
                reader.close()
                outcome, reader = ("ok", reader.summary), None
        except Exception as exc:  # noqa: BLE001 - sent to the service, which raises it
            outcome = ("error", _sendable(exc))
        try:
            conn.send(outcome)
        except (EOFError, OSError):
            return


def _sendable(exc: Exception) -> Exception:
    """Return ``exc`` if it survives pickling, else a RuntimeError with its traceback."""
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes
    except Exception:  # noqa: BLE001 - any pickling failure
        text = "".join(traceback.format_exception(exc)).strip()
        return RuntimeError(f"reader process: {text}")
    return exc


if __name__ == "__main__":  # the child: python -m services.processor.reader_process FD LEVEL
    serve(Connection(int(sys.argv[1])), sys.argv[2])
