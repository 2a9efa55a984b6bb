"""The schedule with an injected clock: default slots, once per slot, missed slots."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.collector.config import CollectorSettings
from services.collector.schedule import MemorySlotStore, Scheduler, latest_slot, slot_key

LA = ZoneInfo("America/Los_Angeles")


class Clock:
    """A settable UTC clock."""

    def __init__(self, now: datetime) -> None:
        """Start at ``now``."""
        self.now = now

    def __call__(self) -> datetime:
        """Return the current time."""
        return self.now


def _crons(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@127.0.0.1/x")
    return CollectorSettings().crons()


def _scheduler(
    crons: dict[str, str], store: MemorySlotStore, clock: Clock, ran: list[str], missed: str = "run"
) -> Scheduler:
    def action(name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            ran.append(name)

        return run

    actions = {name: action(name) for name in crons}
    return Scheduler(crons, actions, store, LA, missed=missed, clock=clock)


def test_default_schedule_is_the_seeds() -> None:
    """Vehicles 02:00 daily, events 03:00, articles Sunday 04:00, re-drives, clean-up midnight."""
    crons = CollectorSettings.model_fields
    assert crons["cron_vehicles"].default == "0 2 * * *"
    assert crons["cron_events"].default == "0 3 * * *"
    assert crons["cron_articles"].default == "0 4 * * 0"
    assert crons["cron_process"].default == "15 * * * *"
    assert crons["cron_import"].default == "0 */2 * * *"
    assert crons["cron_cleanup"].default == "0 0 * * *"
    assert crons["timezone"].default == "America/Los_Angeles"


def test_slots_are_local_time_across_dst() -> None:
    """02:00 Pacific is 09:00 UTC in summer and 10:00 UTC in winter."""
    summer = latest_slot(
        "0 2 * * *", datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 7, 1, 12, tzinfo=UTC), LA
    )
    winter = latest_slot(
        "0 2 * * *", datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 5, 12, tzinfo=UTC), LA
    )
    assert summer is not None
    assert winter is not None
    assert (summer.astimezone(UTC).hour, winter.astimezone(UTC).hour) == (9, 10)


async def test_tick_runs_a_due_job_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing runs before 02:00 Pacific; at 02:00 the due jobs run, a later tick not again."""
    clock = Clock(datetime(2026, 7, 1, 8, 50, tzinfo=UTC))  # 01:50 PDT
    ran: list[str] = []
    scheduler = _scheduler(_crons(monkeypatch), MemorySlotStore(), clock, ran)
    assert await scheduler.start() == []
    clock.now += timedelta(minutes=5)
    assert await scheduler.tick() == []
    clock.now += timedelta(minutes=6)  # 02:01 PDT
    assert await scheduler.tick() == ["scrape_vehicles", "import_redrive"]  # 02:00 is even
    clock.now += timedelta(minutes=1)
    assert await scheduler.tick() == []
    assert ran == ["scrape_vehicles", "import_redrive"]


async def test_each_slot_runs_once_across_replicas(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two schedulers on one store: the slot is claimed by one of them only."""
    clock = Clock(datetime(2026, 7, 1, 9, 10, tzinfo=UTC))
    store, ran = MemorySlotStore(), []
    crons = {"process_redrive": _crons(monkeypatch)["process_redrive"]}
    first, second = (_scheduler(crons, store, clock, ran) for _ in range(2))
    await first.start()
    await second.start()
    clock.now += timedelta(minutes=6)  # past :15
    assert await first.tick() + await second.tick() == ["process_redrive"]
    assert ran == ["process_redrive"]


async def test_missed_slots_run_once_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Down for three days: at start-up each job runs once, for its latest missed slot."""
    store, ran = MemorySlotStore(), []
    crons = _crons(monkeypatch)
    down_since = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    await _scheduler(crons, store, Clock(down_since), []).start()
    clock = Clock(down_since + timedelta(days=3))
    assert sorted(await _scheduler(crons, store, clock, ran).start()) == sorted(
        ["scrape_vehicles", "scrape_events", "process_redrive", "import_redrive", "cleanup"]
    )
    assert sorted(ran) == sorted(set(ran))
    last = await store.get_last("scrape_vehicles")
    assert last is not None
    assert last.astimezone(LA).day == 3


async def test_missed_slots_can_be_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``skip`` nothing runs at start-up, and the missed slots count as done."""
    store, ran = MemorySlotStore(), []
    crons = _crons(monkeypatch)
    since = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    await _scheduler(crons, store, Clock(since), []).start()
    later = Clock(since + timedelta(days=2))
    assert await _scheduler(crons, store, later, ran, missed="skip").start() == []
    assert ran == []
    assert await store.get_last("scrape_events") is not None


async def test_a_failing_job_does_not_stop_the_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    """A job that raises is logged; its slot counts as run and the other jobs still run."""

    async def boom() -> None:
        raise RuntimeError("provider down")

    clock = Clock(datetime(2026, 7, 1, 7, 0, tzinfo=UTC))  # midnight PDT
    ran: list[str] = []
    crons = {"cleanup": "0 0 * * *", "process_redrive": "15 * * * *"}
    scheduler = _scheduler(crons, MemorySlotStore(), clock, ran)
    scheduler.actions["cleanup"] = boom
    scheduler.cursor = {name: clock.now - timedelta(minutes=1) for name in crons}
    clock.now += timedelta(minutes=20)
    assert await scheduler.tick() == ["cleanup", "process_redrive"]
    assert ran == ["process_redrive"]


def test_slot_key_is_utc_minute() -> None:
    """Claim keys use the UTC minute, so the repeated 01:30 of a DST change stays distinct."""
    slot = datetime(2026, 11, 1, 1, 30, tzinfo=LA)
    assert slot_key("cleanup", slot) == "slot.cleanup.20261101T0830"


def test_seconds_to_next(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wait until the next slot comes from the clock, not from real time."""
    clock = Clock(datetime(2026, 7, 1, 9, 10, tzinfo=UTC))
    scheduler = _scheduler({"process_redrive": "15 * * * *"}, MemorySlotStore(), clock, [])
    assert scheduler.seconds_to_next() == pytest.approx(300.0)
