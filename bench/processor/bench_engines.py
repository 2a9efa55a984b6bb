"""Which columnar engine to check vehicle chunks in: the same rules in Polars, pyarrow, DuckDB.

    .venv/bin/python -m bench.processor.bench_engines [--records 20000] [--chunk 1000]

Each engine gets the chunk as the processor has it (a list of mapped dicts: reading them into
columns is part of its cost) and evaluates the same rule subset: lengths of the text fields,
whether tidying would change them, the URL pattern on both URL fields, choice membership, the
year and price bounds; the decisions come back to Python as lists. ``Vehicle.model_validate``
over the same records is the baseline. CPU time (``time.process_time``, every thread) per
record. pyarrow and DuckDB are not dependencies of the project: install them to run this.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import polars as pl

from bench.columnar.fields import (
    PRICE_PATTERN,
    TEXT_FIELDS,
    UNTIDY,
    URL_PATTERN,
)
from bench.e2e.listings import vehicle
from services.processor.stages.normalize import Normalizer
from shared.events import RecordType
from shared.records import Vehicle, VehicleCategory, VehicleCondition, VehicleRegion

TEXT = {f.key: f.max_chars for f in TEXT_FIELDS}
URLS = tuple(f.key for f in TEXT_FIELDS if f.url)
CHOICES = {
    "locationRegion": [m.value for m in VehicleRegion],
    "category": [m.value for m in VehicleCategory],
    "condition": [m.value for m in VehicleCondition],
}
YEARS = (1920, 2028)
PRICES = (1000.0, 10_000_000.0)


def columns(chunk: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Return the chunk as Python lists by key; the price as decimal text."""
    out = {key: [r.get(key) for r in chunk] for key in (*TEXT, *CHOICES, "year")}
    out["price"] = [None if p is None else str(p) for p in (r.get("price") for r in chunk)]
    return out


def with_polars(chunk: list[dict[str, Any]]) -> list[Any]:
    """Decide the chunk with Polars expressions."""
    cols = columns(chunk)
    frame = pl.DataFrame(
        [pl.Series(k, cols[k], dtype=pl.String) for k in (*TEXT, *CHOICES, "price")]
        + [pl.Series("year", cols["year"], dtype=pl.Int64)]
    )
    valid, untidy = [], []
    for key, most in TEXT.items():
        value = pl.col(key)
        bounded = value.str.len_chars().is_between(1, most)
        if key in URLS:
            bounded = bounded & value.str.contains(URL_PATTERN)
        valid.append(value.is_null() | bounded)
        untidy.append(value.str.contains(UNTIDY).alias(f"untidy:{key}"))
    valid += [pl.col(k).is_null() | pl.col(k).is_in(v) for k, v in CHOICES.items()]
    valid.append(pl.col("year").is_between(*YEARS))
    price = pl.col("price")
    amount = price.cast(pl.Float64, strict=False)
    valid.append(price.is_null() | (price.str.contains(PRICE_PATTERN) & amount.is_between(*PRICES)))
    out = frame.select(pl.all_horizontal(valid).alias("ok"), *untidy)
    return [out[name].to_list() for name in out.columns]


def with_pyarrow(chunk: list[dict[str, Any]]) -> list[Any]:
    """Decide the chunk with pyarrow compute kernels."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = columns(chunk)
    ok: Any = pa.array([True] * len(chunk))
    untidy = []
    for key, most in TEXT.items():
        value = pa.array(cols[key], pa.string())
        chars = pc.utf8_length(value)
        bounded = pc.and_kleene(pc.greater_equal(chars, 1), pc.less_equal(chars, most))
        if key in URLS:
            bounded = pc.and_kleene(bounded, pc.match_substring_regex(value, URL_PATTERN))
        ok = pc.and_kleene(ok, pc.or_kleene(pc.is_null(value), bounded))
        untidy.append(pc.match_substring_regex(value, UNTIDY).to_pylist())
    for key, values in CHOICES.items():
        value = pa.array(cols[key], pa.string())
        ok = pc.and_kleene(ok, pc.or_kleene(pc.is_null(value), pc.is_in(value, pa.array(values))))
    year = pa.array(cols["year"], pa.int64())
    ok = pc.and_kleene(ok, pc.and_kleene(pc.greater_equal(year, 1920), pc.less_equal(year, 2028)))
    price = pa.array(cols["price"], pa.string())
    amount = pc.cast(pc.if_else(pc.match_substring_regex(price, PRICE_PATTERN), price, None), "f8")
    in_bounds = pc.and_kleene(pc.greater_equal(amount, 1000.0), pc.less_equal(amount, 1e7))
    ok = pc.and_kleene(ok, pc.or_kleene(pc.is_null(price), in_bounds))
    return [ok.to_pylist(), *untidy]


def with_duckdb(chunk: list[dict[str, Any]], _con: list[Any] = []) -> list[Any]:  # noqa: B006
    """Decide the chunk with one DuckDB query over an Arrow table of its columns."""
    import duckdb
    import pyarrow as pa

    if not _con:
        _con.append(duckdb.connect())
    cols = columns(chunk)
    table = pa.table(
        {k: pa.array(cols[k], pa.string()) for k in (*TEXT, *CHOICES, "price")}
        | {"year": pa.array(cols["year"], pa.int64())}
    )
    valid, untidy = [], []
    for key, most in TEXT.items():
        bounded = f'length("{key}") between 1 and {most}'
        if key in URLS:
            bounded += f""" and regexp_full_match("{key}", '{URL_PATTERN[1:-1]}')"""
        valid.append(f'("{key}" is null or ({bounded}))')
        untidy.append(f"""regexp_matches("{key}", '{UNTIDY}')""")
    for key, values in CHOICES.items():
        listed = ", ".join(f"'{v}'" for v in values)
        valid.append(f'("{key}" is null or "{key}" in ({listed}))')
    valid.append("year between 1920 and 2028")
    valid.append(
        f"(price is null or (regexp_matches(price, '{PRICE_PATTERN}') "
        "and try_cast(price as double) between 1000 and 10000000))"
    )
    sql = f"select {' and '.join(valid)} as ok, {', '.join(untidy)} from chunk_table"
    _con[0].register("chunk_table", table)
    result = _con[0].sql(sql).arrow().read_all()
    return [column.to_pylist() for column in result.columns]


def with_model(chunk: list[dict[str, Any]]) -> list[Any]:
    """The baseline: the model validates each record."""
    return [Vehicle.model_validate(record) for record in chunk]


ENGINES: dict[str, Callable[[list[dict[str, Any]]], list[Any]]] = {
    "python columns only": columns,
    "polars": with_polars,
    "pyarrow": with_pyarrow,
    "duckdb": with_duckdb,
    "pydantic validate": with_model,
}


def records(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """Return ``n`` generated listings mapped as a dropped file's records are."""
    rng = random.Random(seed)
    normalizer = Normalizer("drop", "bench", RecordType.VEHICLES)
    return [normalizer(vehicle(index, rng)).record for index in range(n)]


def measure(data: list[dict[str, Any]], chunk: int, engine: str) -> float:
    """Return microseconds of CPU per record for one engine over the data, chunk by chunk."""
    fn = ENGINES[engine]
    fn(data[:chunk])  # warm up: imports, regex compilation
    gc.collect()
    start = time.process_time()
    for first in range(0, len(data), chunk):
        fn(data[first : first + chunk])
    return 1e6 * (time.process_time() - start) / len(data)


def main() -> None:
    """Print microseconds of CPU per record for each engine."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=1000)
    args = parser.parse_args()
    data = records(args.records)
    assert all(isinstance(r["price"], (int, str, Decimal)) for r in data)
    for engine in ENGINES:
        print(f"  {engine:20s} {measure(data, args.chunk, engine):6.2f} us a record")


if __name__ == "__main__":
    main()
