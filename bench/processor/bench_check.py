"""The check stage's CPU a record: the columnar check (with the model behind it) vs the model.

    .venv/bin/python -m bench.processor.bench_check [--records 200000] [--source e2e|quality]

Generated listings (``e2e``: the end-to-end benchmark's stream, with its invalid records,
duplicates and relistings; ``quality``: the duplicate-detection generator) are mapped as a
dropped file's records are, then checked chunk by chunk (the processor's chunk size) two ways,
each ending in the rows of the valid records:

* model: ``stages.check.validate`` (``Vehicle.model_validate``) then ``to_row()``, record by record;
* columnar: ``check_vehicles`` over the chunk, ``to_row()`` of what it takes, and the model for
  the rest (refused or not covered), as the chunk reader would run it.

It prints microseconds of CPU (``time.process_time``: every thread, Polars' pool included) a
record for each, the model's validation and the columnar check alone, and the share of records
the fast path takes.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections.abc import Callable
from typing import Any

import polars as pl

from bench.columnar import check_vehicles
from bench.e2e.listings import Dataset, ListingStream
from services.processor.processing import CHUNK_SIZE
from services.processor.quality.generator import ListingGenerator
from services.processor.stages import check
from services.processor.stages.normalize import Normalizer
from shared import lifecycle
from shared.events import RecordType
from shared.records import Vehicle


def listings(n: int, source: str, seed: int = 7) -> list[Any]:
    """Return ``n`` generated listings mapped as a dropped file's records are."""
    if source == "quality":
        raw = [listing.record for listing in ListingGenerator(seed).listings(n)]
    else:
        stream, stats = ListingStream(seed, 0.02, 0.03, 0.02), Dataset()  # write_dataset's mix
        raw = [stream.next(stats) for _ in range(n)]
    normalizer = Normalizer("drop", "listings", RecordType.VEHICLES)
    random.Random(seed).shuffle(raw)
    return [normalizer(value).record for value in raw]


def by_model(chunk: list[Any]) -> int:
    """Make the rows of the chunk's valid records, each validated by the model; count them."""
    rows = []
    for record in chunk:
        outcome = check.validate(record, Vehicle)
        if isinstance(outcome, Vehicle):
            rows.append(outcome.to_row())
    return len(rows)


def by_columns(chunk: list[Any]) -> int:
    """Make the same rows: the columnar check first, the model for what it leaves; count them."""
    rows = []
    for record, quick in zip(chunk, check_vehicles(chunk), strict=True):
        outcome = quick if quick is not None else check.validate(record, Vehicle)
        if isinstance(outcome, Vehicle):
            rows.append(outcome.to_row())
    return len(rows)


def validated(chunk: list[Any]) -> int:
    """Return how many of the chunk's records the model accepts (no rows made)."""
    return sum(isinstance(check.validate(record, Vehicle), Vehicle) for record in chunk)


def taken(chunk: list[Any]) -> int:
    """Return how many of the chunk's records the columnar check takes."""
    return sum(quick is not None for quick in check_vehicles(chunk))


def timed(
    step: Callable[[list[Any]], int], records: list[Any], chunk: int
) -> tuple[float, list[int]]:
    """Return microseconds of CPU a record for ``step`` over every chunk, and its counts.

    Only counts are kept, so no path pays for a heap of outputs the others do not hold.
    """
    gc.collect()
    outputs = []
    start = time.process_time()
    for first in range(0, len(records), chunk):
        outputs.append(step(records[first : first + chunk]))
    return 1e6 * (time.process_time() - start) / len(records), outputs


def measure(records: list[Any], chunk: int = CHUNK_SIZE) -> dict[str, float]:
    """Return the figures: us a record for each path, the check alone, and the shares taken."""
    thresholds = gc.get_threshold()
    lifecycle.tune_gc()
    gc.collect()
    gc.freeze()  # the generated records are not the stage's garbage
    try:
        check_vehicles(records[:chunk])  # warm up: imports, regex compilation
        model_us, model_rows = timed(by_model, records, chunk)
        columnar_us, columnar_rows = timed(by_columns, records, chunk)
        check_us, checked = timed(taken, records, chunk)
        validate_us, _ = timed(validated, records, chunk)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    valid = sum(model_rows)
    if columnar_rows != model_rows:
        raise AssertionError("the two paths made a different number of rows")
    took = sum(checked)
    return {
        "model_us": model_us,
        "columnar_us": columnar_us,
        "check_us": check_us,
        "validate_us": validate_us,
        "taken_of_valid": took / valid if valid else 0.0,
        "taken_of_all": took / len(records),
    }


def main() -> None:
    """Print the check stage's cost a record both ways and the fast path's share."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--source", choices=("e2e", "quality"), default="e2e")
    parser.add_argument("--chunk", type=int, default=CHUNK_SIZE)
    args = parser.parse_args()
    records = listings(args.records, args.source)
    figures = measure(records, args.chunk)
    print(f"{args.records:,} {args.source} listings, chunks of {args.chunk:,}, ", end="")
    print(f"polars {pl.__version__} on {pl.thread_pool_size()} threads")
    print(f"  model_validate + to_row          {figures['model_us']:6.2f} us a record")
    print(f"  columnar check + to_row + model  {figures['columnar_us']:6.2f} us a record")
    print(f"  model_validate alone             {figures['validate_us']:6.2f} us a record")
    print(f"  columnar check alone             {figures['check_us']:6.2f} us a record")
    print(f"  fast path took {figures['taken_of_valid']:.1%} of the valid records, ", end="")
    print(f"{figures['taken_of_all']:.1%} of all")


if __name__ == "__main__":
    main()
