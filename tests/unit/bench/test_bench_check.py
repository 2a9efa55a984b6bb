"""The check-stage benchmark times both paths over the same records and counts the fast path."""

from __future__ import annotations

import gc

from bench.processor import bench_check


def test_both_paths_are_timed_and_the_fast_path_takes_the_valid_listings() -> None:
    """Every figure is positive, the fast path takes the valid listings, the collector is left."""
    frozen, thresholds = gc.get_freeze_count(), gc.get_threshold()
    figures = bench_check.measure(bench_check.listings(400, "e2e"), chunk=100)
    assert all(figures[name] > 0 for name in ("model_us", "columnar_us", "check_us"))
    assert figures["taken_of_valid"] >= 0.9, figures
    assert figures["taken_of_all"] <= figures["taken_of_valid"]
    assert gc.get_freeze_count() == frozen
    assert gc.get_threshold() == thresholds
