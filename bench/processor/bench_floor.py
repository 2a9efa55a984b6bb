"""The CPU floor of one vehicle record: what the libraries alone cost, before the processor's work.

    .venv/bin/python -m bench.processor.bench_floor [--records 50000] [--target 30000]

For the end-to-end benchmark's listings (same generator), it times on one core, step by step
over every record: parsing the raw JSON line (orjson), validating it into the record model
(pydantic), turning the record into its row (``model_dump`` and the SHA-256 key), serializing the
row (orjson), and then the processor's own matching keys (``from_row`` and ``evidence``: the
normalized fields and the MinHash bands). It prints microseconds of CPU per record for each and
the budget a throughput target leaves per record on this machine's cores, so the floor and the
target can be compared: the processor's whole path (normalizing, enriching, linking against
PostgreSQL) comes on top of the floor.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import time
from collections.abc import Callable
from typing import Any

import orjson

from bench.e2e.listings import vehicle
from services.processor.dedup.keys import evidence, from_row
from services.processor.processing import CHUNK_SIZE
from services.processor.stages import write
from shared import lifecycle
from shared.records import Vehicle

LIBRARY_STEPS = ("parse", "validate", "row", "serialize")
"""The steps any processor of these records pays in these libraries (JSON and pydantic)."""
KEY_STEPS = ("keys", "evidence")
"""The processor's own matching keys: normalized fields, then the blocking keys (MinHash)."""


def measure(records: int, seed: int = 1, chunk: int = CHUNK_SIZE) -> dict[str, float]:
    """Return microseconds of CPU per record for each step, over ``records`` generated listings.

    As in the processor, records go chunk by chunk and the garbage collector is tuned as the
    services tune it; within a chunk each step runs over every record before the next starts
    (its input is the previous step's output), timed with ``time.process_time``. Only valid
    records are generated: the floor is that of a record that pays every step.
    """
    rng = random.Random(seed)
    lines = [orjson.dumps(vehicle(index, rng)) for index in range(records)]
    thresholds = gc.get_threshold()
    lifecycle.tune_gc()
    gc.collect()
    gc.freeze()  # the generated lines are not the processor's garbage
    spent: dict[str, float] = dict.fromkeys((*LIBRARY_STEPS, *KEY_STEPS), 0.0)

    def timed(name: str, step: Callable[[Any], Any], inputs: list[Any]) -> list[Any]:
        start = time.process_time()
        outputs = [step(item) for item in inputs]
        spent[name] += time.process_time() - start
        return outputs

    try:
        for first in range(0, records, chunk):
            values = timed("parse", orjson.loads, lines[first : first + chunk])
            models = timed("validate", Vehicle.model_validate, values)
            rows = timed("row", Vehicle.to_row, models)
            timed("serialize", write.dumps_line, rows)
            keys = timed("keys", from_row, rows)
            timed("evidence", evidence, keys)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    return {name: 1e6 * seconds / records for name, seconds in spent.items()}


def main() -> None:
    """Print the floor per step and the budget a target leaves per record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--target", type=int, default=30_000, help="records/s to compare with")
    args = parser.parse_args()
    figures = measure(args.records)
    cores = os.cpu_count() or 1
    for name, micros in figures.items():
        print(f"  {name:10s} {micros:6.1f} us a record")
    floor = sum(figures[name] for name in LIBRARY_STEPS)
    print(f"library floor (JSON + pydantic): {floor:.1f} us a record (one core)")
    print(f"with the matching keys: {sum(figures.values()):.1f} us a record")
    budget = 1e6 * cores / args.target
    print(f"{args.target:,} records/s on {cores} cores leaves {budget:.1f} us of CPU a record")


if __name__ == "__main__":
    main()
