"""The schedule: cron jobs in a time zone, each slot run once across replicas, missed slots.

A slot (job name + its scheduled local time) is claimed with an atomic ``kv.create`` of the key
``slot.<job>.<YYYYMMDDTHHMM>`` in the ``<ns>_schedule_claims`` bucket: the replica whose create
wins runs it, the others see "key exists" and skip. Claims expire after ``CLAIM_TTL_S`` (the
bucket's TTL), so they do not pile up. ``last.<job>`` in the ``<ns>_schedule`` bucket (no TTL)
remembers the latest slot run, so a slot that passed while every replica was down is found at
start-up and, per ``COLLECTOR_MISSED_SLOTS``, run once (only the latest missed slot) or skipped.
Time comes from an injected clock and waits from an injected function, so tests never wait for
real time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import nats.js.errors
import structlog
from croniter import croniter
from nats.js.kv import KeyValue

from shared.bus import Bus
from shared.events import utcnow

log = structlog.get_logger(__name__)

Action = Callable[[], Awaitable[Any]]

CLAIM_TTL_S = 2 * 24 * 3600.0
"""How long a slot claim lives: far longer than replicas take to race for one slot."""

CLAIM_PREFIX = "slot."


class SlotStore(Protocol):
    """Claims and last-run marks shared by the replicas."""

    async def claim(self, key: str) -> bool:
        """Atomically take ``key``; return False when another replica has it."""
        ...

    async def get_last(self, job: str) -> datetime | None:
        """Return the latest slot run of a job."""
        ...

    async def set_last(self, job: str, slot: datetime) -> None:
        """Remember the latest slot run of a job."""
        ...


@dataclass
class MemorySlotStore:
    """A dict-backed slot store (unit tests, or a single replica)."""

    claims: set[str] = field(default_factory=set)
    last: dict[str, datetime] = field(default_factory=dict)

    async def claim(self, key: str) -> bool:
        """Take ``key`` if free."""
        if key in self.claims:
            return False
        self.claims.add(key)
        return True

    async def get_last(self, job: str) -> datetime | None:
        """Return the last slot run."""
        return self.last.get(job)

    async def set_last(self, job: str, slot: datetime) -> None:
        """Remember the last slot run."""
        self.last[job] = slot


@dataclass
class KvSlotStore:
    """Slot claims (``<ns>_schedule_claims``, with a TTL) and last-run marks (``<ns>_schedule``)."""

    marks: KeyValue
    claims: KeyValue

    @classmethod
    async def open(cls, bus: Bus, claim_ttl_s: float = CLAIM_TTL_S) -> KvSlotStore:
        """Open (or create) both buckets and move claims left in the marks bucket to the claims.

        A claims bucket that exists is used as it is (its TTL was set when it was created).
        """
        marks = await bus.open_bucket(bus.names.schedule_bucket)
        claims = await bus.open_bucket(bus.names.schedule_claims_bucket, claim_ttl_s)
        store = cls(marks, claims)
        await store.move_old_claims(bus, claim_ttl_s)
        return store

    async def move_old_claims(self, bus: Bus, claim_ttl_s: float) -> int:
        """Copy recent ``slot.*`` claims from the marks bucket into the claims bucket, then
        remove every ``slot.*`` key from the marks bucket; return the claims copied.

        Earlier versions kept claims beside the marks, without a TTL. A claim younger than the
        TTL is copied, so an upgraded replica does not run a slot that one of the old version
        already claimed; older ones are only removed.
        """
        try:
            keys = [k for k in await self.marks.keys() if k.startswith(CLAIM_PREFIX)]
        except nats.js.errors.NoKeysError:
            return 0
        if not keys:
            return 0
        oldest = utcnow() - timedelta(seconds=claim_ttl_s)
        copied = 0
        for key in keys:
            slot = _claimed_slot(key)
            if slot is not None and slot >= oldest and await self.claim(key):
                copied += 1
        stream = f"KV_{bus.names.schedule_bucket}"
        await bus.js.purge_stream(stream, subject=f"$KV.{bus.names.schedule_bucket}.slot.>")
        log.info("schedule.claims_moved", found=len(keys), copied=copied)
        return copied

    async def claim(self, key: str) -> bool:
        """Create ``key``; False when it exists (another replica claimed the slot)."""
        try:
            await self.claims.create(key, b"1")
        except (nats.js.errors.KeyWrongLastSequenceError, nats.js.errors.BadRequestError):
            return False
        return True

    async def get_last(self, job: str) -> datetime | None:
        """Return the last slot run of a job, or ``None``."""
        try:
            entry = await self.marks.get(f"last.{job}")
        except nats.js.errors.KeyNotFoundError:
            return None
        return datetime.fromisoformat(entry.value.decode()) if entry.value else None

    async def set_last(self, job: str, slot: datetime) -> None:
        """Store the last slot run of a job."""
        await self.marks.put(f"last.{job}", slot.isoformat().encode())


def _claimed_slot(key: str) -> datetime | None:
    """Return the UTC slot time of a claim key (``slot.<job>.<YYYYMMDDTHHMM>``), if it has one."""
    try:
        return datetime.strptime(key.rsplit(".", 1)[-1], "%Y%m%dT%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None


def next_slot(cron: str, after: datetime, tz: ZoneInfo) -> datetime:
    """Return the first slot of ``cron`` (local time in ``tz``) strictly after ``after``."""
    value = croniter(cron, after.astimezone(tz)).get_next(datetime)
    assert isinstance(value, datetime)  # noqa: S101 - croniter returns the type asked for
    return value


def latest_slot(cron: str, after: datetime, until: datetime, tz: ZoneInfo) -> datetime | None:
    """Return the latest slot in ``(after, until]``, or ``None`` when there is none."""
    found = None
    slot = next_slot(cron, after, tz)
    while slot <= until:
        found = slot
        slot = next_slot(cron, slot, tz)
    return found


def slot_key(job: str, slot: datetime) -> str:
    """Return the claim key of a slot (UTC minute, so DST repeats stay distinct)."""
    return f"slot.{job}.{slot.astimezone(UTC):%Y%m%dT%H%M}"


@dataclass
class Scheduler:
    """Runs each job's due slots once across replicas."""

    crons: dict[str, str]
    actions: dict[str, Action]
    store: SlotStore
    tz: ZoneInfo
    missed: str = "run"
    clock: Callable[[], datetime] = utcnow
    cursor: dict[str, datetime] = field(default_factory=dict)

    async def start(self) -> list[str]:
        """Handle slots missed while down; return the jobs run for a missed slot."""
        now = self.clock()
        ran = []
        for job, cron in self.crons.items():
            self.cursor[job] = now
            last = await self.store.get_last(job)
            missed = latest_slot(cron, last, now, self.tz) if last else None
            if last is None:
                await self.store.set_last(job, now)  # first start ever: nothing was missed
            elif missed is None:
                continue
            elif self.missed == "skip":
                log.info("schedule.missed_skipped", job=job, slot=missed.isoformat())
                await self.store.set_last(job, missed)
            elif await self._run(job, missed):
                ran.append(job)
        return ran

    async def tick(self) -> list[str]:
        """Run every job whose next slot is due now (once); return the jobs this replica ran."""
        now = self.clock()
        ran = []
        for job, cron in self.crons.items():
            slot = latest_slot(cron, self.cursor.get(job, now), now, self.tz)
            self.cursor[job] = now
            if slot is not None and await self._run(job, slot):
                ran.append(job)
        return ran

    def seconds_to_next(self) -> float:
        """Return the seconds until the earliest next slot of any job."""
        now = self.clock()
        nexts = [
            next_slot(cron, self.cursor.get(j, now), self.tz) for j, cron in self.crons.items()
        ]
        return max(0.0, min(nexts).timestamp() - now.timestamp()) if nexts else 3600.0

    async def _run(self, job: str, slot: datetime) -> bool:
        if not await self.store.claim(slot_key(job, slot)):
            log.info("schedule.slot_taken", job=job, slot=slot.isoformat())
            return False
        log.info("schedule.slot_started", job=job, slot=slot.isoformat())
        try:
            await self.actions[job]()
        except Exception:  # a failing job must not stop the schedule
            log.exception("schedule.job_failed", job=job, slot=slot.isoformat())
        await self.store.set_last(job, slot)
        return True

    async def run(self, stop: asyncio.Event, max_wait_s: float = 60.0) -> None:
        """Tick at each slot time until ``stop`` (waits are capped so clock jumps are seen)."""
        await self.start()
        while not stop.is_set():
            wait = min(max_wait_s, self.seconds_to_next() + 0.5)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
                return
            await self.tick()
