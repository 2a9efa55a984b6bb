"""CPU seconds per service and per PostgreSQL client during the timed part: where the cores go.

Read from ``/proc/PID/stat`` (user + system time) at the start and at the end of the load: each
service with its children (the processor's reader process), PostgreSQL's backends of the stack's
database grouped by ``application_name`` (the services name their sessions), and the server's own
processes (WAL writer, checkpointer, background writer). A process that ends before the second
sample loses its time; the services and their pooled connections live through the run.
"""

from __future__ import annotations

import contextlib
import os
from collections import defaultdict
from pathlib import Path

import asyncpg

from bench.e2e.stack import Stack, children

SERVER = "postgres (server)"
_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float | None:
    """Return a process's user + system CPU seconds so far, or None if it has ended."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
    return None


async def sample(stack: Stack, conn: asyncpg.Connection) -> dict[tuple[str, int], float]:
    """Return the CPU seconds of every process that counts, by (label, pid)."""
    found: dict[tuple[str, int], float] = {}
    for service in stack.services:
        for pid in (service.proc.pid, *children(service.proc.pid)):
            seconds = process_cpu_s(pid)
            if seconds is not None:
                found[(service.label, pid)] = seconds
    rows = await conn.fetch(
        "SELECT pid, datname, application_name, backend_type FROM pg_stat_activity "
        "WHERE datname = current_database() OR datname IS NULL"
    )
    for pid, database, application, backend_type in rows:
        if database is None and backend_type == "client backend":
            continue
        label = f"postgres: {application or 'other clients'}" if database else SERVER
        seconds = process_cpu_s(pid)
        if seconds is not None:
            found[(label, pid)] = seconds
    return found


def spent(
    before: dict[tuple[str, int], float], after: dict[tuple[str, int], float]
) -> dict[str, float]:
    """Return CPU seconds by label, most first (a process born in between counts from zero)."""
    totals: dict[str, float] = defaultdict(float)
    for (label, pid), seconds in after.items():
        totals[label] += seconds - before.get((label, pid), 0.0)
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def render(totals: dict[str, float], wall_s: float) -> list[str]:
    """Return the lines of the CPU table: each label, then the total against the cores' time."""
    cores = os.cpu_count() or 1
    available = cores * wall_s
    lines = [f"CPU seconds while loading ({cores} cores x {wall_s:.1f} s = {available:.1f}):"]
    lines += [f"  {label:28s} {seconds:6.1f}" for label, seconds in totals.items()]
    total = sum(totals.values())
    lines.append(f"  {'total':28s} {total:6.1f} ({total / available:.0%} of the cores' time)")
    return lines


def per_row(
    pipeline: dict[str, float], copy: dict[str, float], rows: int, copy_wall_s: float
) -> list[str]:
    """Return the lines comparing the CPU a row costs through the pipeline and the bare COPY.

    The second line is the ceiling of the rates' ratio: the pipeline cannot load faster than its
    CPU seconds spread over every core, so the ratio is at most cores x the COPY's wall seconds
    / the pipeline's CPU seconds, whatever the overlap. [] without the baseline's figures.
    """
    copy_s, pipeline_s = sum(copy.values()), sum(pipeline.values())
    if not rows or not copy_s or not pipeline_s:
        return []
    micros = 1e6 / rows
    cores = os.cpu_count() or 1
    return [
        f"CPU a row: pipeline {pipeline_s * micros:.0f} us, bare COPY {copy_s * micros:.0f} us "
        f"(backend {copy.get('backend', 0.0) * micros:.0f}, client "
        f"{copy.get('client', 0.0) * micros:.0f}): {pipeline_s / copy_s:.1f} x",
        f"ratio ceiling with every core busy: {cores} x {copy_wall_s:.1f} s / "
        f"{pipeline_s:.1f} CPU-s = {cores * copy_wall_s / pipeline_s:.3f}",
    ]
