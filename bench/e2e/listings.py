"""Realistic vehicle listings written as JSON files, with known invalid records and duplicates.

The generator is deterministic (seeded) and streams each file to disk, so a 1 GB file costs no
more memory than a small one. It counts what the pipeline should make of the records: how many
are valid, and how many distinct valid listings (rows) they hold.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

# make -> (model, first year, last year, category)
CATALOGUE: dict[str, tuple[tuple[str, int, int, str], ...]] = {
    "Chevrolet": (
        ("Chevelle SS 396", 1966, 1972, "Muscle Cars"),
        ("Camaro Z/28", 1967, 1974, "Muscle Cars"),
        ("Corvette Stingray", 1963, 1976, "Sports Cars"),
        ("Bel Air", 1953, 1975, "Classic Cars"),
        ("Impala SS", 1961, 1969, "Muscle Cars"),
        ("C10 Pickup", 1960, 1987, "Trucks"),
    ),
    "Ford": (
        ("Mustang Fastback", 1965, 1973, "Muscle Cars"),
        ("Thunderbird", 1955, 1966, "Classic Cars"),
        ("F-100", 1953, 1979, "Trucks"),
        ("Model A Roadster", 1928, 1931, "Classic Cars"),
        ("Bronco", 1966, 1977, "Trucks"),
        ("Deuce Coupe Hot Rod", 1932, 1932, "Hot Rods"),
    ),
    "Dodge": (
        ("Charger R/T", 1968, 1971, "Muscle Cars"),
        ("Challenger T/A", 1970, 1974, "Muscle Cars"),
    ),
    "Plymouth": (
        ("Barracuda", 1964, 1974, "Muscle Cars"),
        ("Road Runner", 1968, 1975, "Muscle Cars"),
    ),
    "Pontiac": (
        ("GTO Judge", 1969, 1971, "Muscle Cars"),
        ("Firebird Trans Am", 1970, 1981, "Muscle Cars"),
    ),
    "Porsche": (
        ("911 Carrera", 1973, 1989, "Sports Cars"),
        ("356 Speedster", 1954, 1959, "Sports Cars"),
    ),
    "Jaguar": (
        ("E-Type Series 1", 1961, 1968, "Sports Cars"),
        ("XK120", 1948, 1954, "Sports Cars"),
    ),
    "Mercedes-Benz": (
        ("280SL Pagoda", 1967, 1971, "Luxury Cars"),
        ("300SL Gullwing", 1954, 1957, "Sports Cars"),
    ),
    "Ferrari": (("308 GTS", 1977, 1985, "Sports Cars"), ("Dino 246 GT", 1969, 1974, "Sports Cars")),
    "Cadillac": (
        ("Eldorado Biarritz", 1957, 1966, "Luxury Cars"),
        ("Coupe DeVille", 1949, 1970, "Luxury Cars"),
    ),
}
MAKES = tuple(CATALOGUE)
PLACES = (
    ("Tulsa", "OK", "South"),
    ("Scottsdale", "AZ", "West"),
    ("Hershey", "PA", "Northeast"),
    ("Monterey", "CA", "West"),
    ("Dallas", "TX", "South"),
    ("Detroit", "MI", "Midwest"),
    ("Kissimmee", "FL", "South"),
    ("Denver", "CO", "West"),
    ("Chicago", "IL", "Midwest"),
    ("Charlotte", "NC", "South"),
    ("Portland", "OR", "West"),
    ("Boston", "MA", "Northeast"),
)
CONDITIONS = ("Excellent", "excellent", "Very Good", "Good", "Fair", "Project")
SOURCES = ("dealer-feed", "classic-auctions", "garage-finds", "muscle-market", "euro-classics")
PHRASES = (
    "Numbers-matching drivetrain with documented history.",
    "Frame-off rotisserie restoration completed in 2019.",
    "Original paint, garage kept, two owners from new.",
    "Rebuilt 4-speed manual, new clutch and Hurst shifter.",
    "Power steering, power disc brakes, factory air conditioning.",
    "Matching Marti report and build sheet included.",
    "Fresh interior in correct vinyl, new headliner and carpets.",
    "Runs and drives well; some surface rust on the floor pans.",
    "Recent service: fluids, belts, hoses, tune-up and new tires.",
    "Show winner, judged at regional concours events.",
    "Stored for 30 years, needs full restoration.",
    "Upgraded radiator and electronic ignition for reliability.",
)


DEALER_TEMPLATES = (
    "{year} {make} {model}, {condition} condition, {miles}k miles, numbers matching.",
    "Beautiful {year} {make} {model} in {condition} condition. {miles},000 original miles. "
    "Clean title. Financing available, trades welcome. Call today!",
    "{year} {make} {model} - {condition} condition - {miles}k miles - ready to show or drive.",
)
"""Dealer inventory text: one template filled with the car's facts, shared by thousands of lots."""


@dataclass
class Dataset:
    """What was written, and what the pipeline should make of it."""

    files: list[Path] = field(default_factory=list)
    records: int = 0
    valid: int = 0
    unique_valid: int = 0
    invalid: int = 0
    duplicates: int = 0
    relisted: int = 0
    bytes_written: int = 0


def vehicle(index: int, rng: random.Random) -> dict[str, Any]:
    """Return one plausible listing; ``index`` makes its stock number (and natural key) unique."""
    make = rng.choice(MAKES)
    model, first, last, category = rng.choice(CATALOGUE[make])
    city, state, region = rng.choice(PLACES)
    source = rng.choice(SOURCES)
    year = rng.randint(first, last)
    condition = rng.choice(CONDITIONS)
    if rng.random() < 0.5:  # a dealer's templated text
        description = rng.choice(DEALER_TEMPLATES).format(
            year=year,
            make=make,
            model=model,
            condition=condition.lower(),
            miles=rng.randint(5, 190),
        )
    else:
        description = f"{year} {make} {model}. " + " ".join(rng.sample(PHRASES, rng.randint(2, 6)))
    return {
        "make": make,
        "model": model,
        "year": year,
        "price": round(rng.lognormvariate(10.8, 0.7), rng.choice((0, 2))),
        "description": description,
        "imageUrl": f"https://img.{source}.example.com/{index}/front.jpg",
        "locationCity": city,
        "locationState": state,
        "locationRegion": region,
        "category": category,
        "condition": condition,
        "sourceName": source,
        "sourceUrl": f"https://{source}.example.com/listings/{index}",
        "stockNumber": f"STK-{index:08d}",
    }


def invalid_vehicle(index: int, rng: random.Random) -> Any:
    """Return a record the processor must refuse (each kind of failure in turn)."""
    record = vehicle(index, rng)
    kind = index % 5
    if kind == 0:
        record["price"] = 500  # business rule: below 1,000
    elif kind == 1:
        record["year"] = 1899  # business rule: before 1920
    elif kind == 2:
        record["make"] = ""  # schema: required
    elif kind == 3:
        record["price"] = "priceless"  # schema: not a number ("call for price" is no price)
    else:
        return f"not an object {index}"
    return record


class ListingStream:
    """Yields records with the configured share of invalid ones and of exact duplicates.

    Duplicates copy a recent record, possibly from an earlier file, so they exercise both the
    in-file and the cross-file dedup. The counts say what the pipeline must load.
    """

    def __init__(
        self, seed: int, invalid_rate: float, duplicate_rate: float, near_rate: float = 0.0
    ) -> None:
        """Seed the generator and set the shares of invalid, duplicated and relisted records."""
        self.rng = random.Random(seed)
        self.invalid_rate = invalid_rate
        self.duplicate_rate = duplicate_rate
        self.near_rate = near_rate
        self.recent: deque[tuple[Any, bool]] = deque(maxlen=2000)
        self.index = 0

    def next(self, stats: Dataset) -> Any:
        """Return the next record and count it in ``stats``."""
        roll = self.rng.random()
        stats.records += 1
        if self.recent and roll < self.duplicate_rate:
            record, valid = self.rng.choice(self.recent)
            stats.duplicates += 1
            stats.valid += valid
            stats.invalid += not valid
            return record
        self.index += 1
        near = roll < self.duplicate_rate + self.near_rate
        valid = near or roll >= self.duplicate_rate + self.near_rate + self.invalid_rate
        if near:
            record = self.relisted()
        elif valid:
            record = vehicle(self.index, self.rng)
        else:
            record = invalid_vehicle(self.index, self.rng)
        self.recent.append((record, valid))
        stats.valid += valid
        stats.unique_valid += valid
        stats.relisted += near
        stats.invalid += not valid
        return record

    def relisted(self) -> dict[str, Any]:
        """Return a near duplicate: a recent valid listing relisted by another source.

        Same car, text and place; another source, URL and stock number, a price a few percent
        off. Half of them rehost the photo on the new site's own host and path, as real
        relistings do, and one in five has a typo in the model. Its natural key differs, so it
        is its own row, linked by the near-duplicate linker.
        """
        originals = [record for record, valid in self.recent if valid]
        if not originals:
            return vehicle(self.index, self.rng)
        record = dict(self.rng.choice(originals))
        source = self.rng.choice([s for s in SOURCES if s != record["sourceName"]])
        record.update(
            sourceName=source,
            sourceUrl=f"https://{source}.example.com/listings/{self.index}",
            stockNumber=f"STK-{self.index:08d}",
            price=round(float(record["price"]) * self.rng.uniform(0.97, 1.03)),
        )
        if self.rng.random() < 0.5:
            record["imageUrl"] = f"https://cdn.{source}.example.net/p/{self.index:x}/1.jpg"
        if self.rng.random() < 0.2 and len(record["model"]) > 3:
            at = self.rng.randrange(1, len(record["model"]) - 1)
            model = record["model"]
            record["model"] = model[:at] + model[at + 1] + model[at] + model[at + 2 :]
        return record


def _write_array(handle: IO[bytes], records: Iterator[Any]) -> int:
    """Write records as a JSON array, one per line; return the bytes written."""
    written = handle.write(b"[\n")
    first = True
    for record in records:
        line = (b"" if first else b",\n") + orjson.dumps(record)
        written += handle.write(line)
        first = False
    return written + handle.write(b"\n]\n")


def write_dataset(
    folder: Path,
    records: int,
    files: int,
    *,
    big_file_gb: float = 0.0,
    seed: int = 7,
    invalid_rate: float = 0.02,
    duplicate_rate: float = 0.03,
    near_rate: float = 0.02,
) -> Dataset:
    """Write ``records`` listings spread over ``files`` files, plus one file of ``big_file_gb``."""
    folder.mkdir(parents=True, exist_ok=True)
    stream = ListingStream(seed, invalid_rate, duplicate_rate, near_rate)
    stats = Dataset()
    per_file = [records // files + (i < records % files) for i in range(files)] if records else []
    for number, count in enumerate(per_file, 1):
        path = folder / f"listings_{number:03d}.json"
        with path.open("wb") as handle:
            stats.bytes_written += _write_array(handle, (stream.next(stats) for _ in range(count)))
        stats.files.append(path)
    if big_file_gb > 0:
        path = folder / "listings_big.json"
        limit = int(big_file_gb * 1024**3)
        with path.open("wb") as handle:
            stats.bytes_written += _write_array(handle, _until(handle, limit, stream, stats))
        stats.files.append(path)
    return stats


def _until(handle: IO[bytes], limit: int, stream: ListingStream, stats: Dataset) -> Iterator[Any]:
    while handle.tell() < limit:
        yield stream.next(stats)
