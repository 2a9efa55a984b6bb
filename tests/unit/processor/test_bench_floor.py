"""The floor benchmark times every step over every record it generates."""

from __future__ import annotations

import gc

from bench.processor import bench_floor


def test_every_step_is_timed_and_the_collector_is_left_as_found() -> None:
    """Each library and key step has a positive time a record; the collector is as it was."""
    frozen, thresholds = gc.get_freeze_count(), gc.get_threshold()
    figures = bench_floor.measure(300, chunk=100)
    assert set(figures) == {*bench_floor.LIBRARY_STEPS, *bench_floor.KEY_STEPS}
    assert all(micros > 0 for micros in figures.values()), figures
    assert gc.get_freeze_count() == frozen
    assert gc.get_threshold() == thresholds
