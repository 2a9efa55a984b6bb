"""Realistic raw vehicle listings with ground truth, for measuring duplicate detection.

Each listing belongs to an entity (one physical car). The default mix: exact re-deliveries,
the same car on another site (new stock number, typo in the model, price a few percent off,
slightly edited description, the photo kept, rehosted or dropped), re-posts on the same site
(new stock number and page, same photos), invalid records, and look-alikes (same make, model and
year, another car, described with the same template when the original is) in other cities and
in the same city.

Half the descriptions are dealer templates filled with the car's facts (``DEALER_TEMPLATES``):
a handful of texts shared by thousands of listings, as real dealer inventory is. ``photos``
says what a copy on another site does with the photo: ``shared`` keeps the original's URL,
``rehosted`` gives each site's copy its own URL on its own host and path (as real relistings do),
and ``reworded`` also re-words it as a reselling site does: its own photo, the clauses of the
description in another order, and a stock dealer phrase added (or one the original had dropped).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

CARS = (
    ("Chevrolet", "Chevelle SS"), ("Chevrolet", "Camaro Z28"), ("Chevrolet", "Corvette Stingray"),
    ("Ford", "Mustang Fastback"), ("Ford", "Bronco"), ("Ford", "Thunderbird"),
    ("Dodge", "Charger R/T"), ("Dodge", "Challenger"), ("Plymouth", "Barracuda"),
    ("Pontiac", "GTO"), ("Pontiac", "Firebird Trans Am"), ("Porsche", "911 Carrera"),
    ("Jaguar", "E-Type"), ("Mercedes-Benz", "280SL"), ("Volkswagen", "Beetle"),
    ("Oldsmobile", "442"), ("Buick", "Riviera"), ("Cadillac", "Eldorado"), ("AMC", "Javelin"),
    ("Toyota", "Land Cruiser FJ40"), ("Datsun", "240Z"), ("Alfa Romeo", "Spider"),
)  # fmt: skip
CITIES = (
    ("Tulsa", "OK"), ("Dallas", "TX"), ("Austin", "TX"), ("Phoenix", "AZ"), ("Denver", "CO"),
    ("Chicago", "IL"), ("Atlanta", "GA"), ("Miami", "FL"), ("Seattle", "WA"), ("Portland", "OR"),
    ("Detroit", "MI"), ("Nashville", "TN"), ("Charlotte", "NC"), ("Columbus", "OH"),
    ("Scottsdale", "AZ"), ("San Diego", "CA"), ("Boston", "MA"), ("Kansas City", "MO"),
)  # fmt: skip
SITES = ("bringatrailer", "carsandbids", "hemmings", "classiccars", "dealer-feed", "ebay-motors")
COLORS = ("red", "black", "silver", "blue", "green", "white", "yellow", "orange", "maroon")
FEATURES = (
    "numbers matching", "frame-off restoration", "rebuilt engine", "new interior",
    "original paint", "documented history", "air conditioning", "disc brakes", "manual gearbox",
    "automatic transmission", "fresh tires", "clean title", "garage kept", "one owner",
    "rust free", "power steering", "factory options", "recent service",
)  # fmt: skip
CONDITIONS = ("excellent", "very good", "good", "fair", "project")
DEALER_TEMPLATES = (
    "{year} {make} {model}, {condition} condition, {miles}k miles, numbers matching.",
    "Beautiful {year} {make} {model} in {condition} condition. {miles},000 original miles. "
    "Clean title. Financing available, trades welcome. Call today!",
    "{year} {make} {model} - {condition} condition - {miles}k miles - ready to show or drive.",
    "For sale: {year} {make} {model}. {condition} condition, {miles}k miles. "
    "Nationwide shipping available. Inspections welcome.",
)
"""Dealer inventory text: a template filled with the car's facts, shared by thousands of lots."""
BOILERPLATE = ("Call today!", "Trades welcome.", "Financing available.", "Shipping available.")
TEMPLATED = 0.5  # share of originals described by a dealer template
STOCK_PHRASES = (
    "Priced to sell.", "Must see!", "No reserve.", "Serious buyers only.", "Runs and drives great.",
    "Clean title.", "Financing available.", "Trades welcome.", "Call today!", "Shipping available.",
)  # fmt: skip
"""Dealer phrases a reselling site adds to (or cuts from) a listing it copies."""
PHOTO_MODES = ("shared", "rehosted", "reworded")
_CLAUSE = re.compile(r"(?<=[.!?,])\s+|\s+-\s+")
MIX = {"exact": 0.08, "cross_site": 0.30, "repost": 0.08, "invalid": 0.05, "lookalike": 0.15}
NAME_VARIANTS = {"Chevrolet": "Chevy", "Volkswagen": "VW", "Mercedes-Benz": "Mercedes"}


@dataclass(frozen=True)
class Listing:
    """One generated raw record and the car (entity) it describes."""

    entity: int
    kind: str  # original, exact, cross_site, repost, invalid, lookalike
    record: dict[str, Any]


class ListingGenerator:
    """Generates listings with a seeded random source (the same seed, the same listings)."""

    def __init__(self, seed: int = 7, photos: str = "shared", templated: float = TEMPLATED) -> None:
        """Seed the generator; ``photos`` is a ``PHOTO_MODES`` value (the shape of a copy on
        another site), ``templated`` a share."""
        if photos not in PHOTO_MODES:
            raise ValueError(f"photos must be one of {PHOTO_MODES}, not {photos!r}")
        self.rng = random.Random(seed)  # noqa: S311 - test data, not secrets
        self.photos = photos
        self.templated = templated
        self.entities = 0
        self.stock = 0
        self.templates: dict[int, int] = {}  # entity -> its dealer template

    def listings(self, n: int) -> list[Listing]:
        """Return about ``n`` listings in a shuffled order."""
        out: list[Listing] = []
        while len(out) < n:
            out.extend(self._family())
        out = out[:n]
        self.rng.shuffle(out)
        return out

    def _family(self) -> Iterator[Listing]:
        base = self._original()
        yield base
        rng = self.rng
        for kind, share in MIX.items():
            if rng.random() >= share * 2:  # a family has about two listings: ~share of all
                continue
            if kind == "lookalike":  # other cars: one elsewhere, one in the same city
                for same_city in (False, True):
                    self.entities += 1
                    lookalike = self._lookalike(base, same_city)
                    yield Listing(self.entities, kind, lookalike)
            else:
                yield Listing(base.entity, kind, self._variant(kind, base.record, base.entity))

    def _next_stock(self) -> str:
        self.stock += 1
        return f"STK-{self.stock:07d}"

    def _original(self) -> Listing:
        rng = self.rng
        self.entities += 1
        make, model = rng.choice(CARS)
        city, state = rng.choice(CITIES)
        site = rng.choice(SITES)
        stock = self._next_stock()
        year = rng.randint(1955, 1979)
        record = {
            "sourceName": site,
            "make": make,
            "model": model,
            "year": year,
            "price": rng.randrange(15_000, 250_000, 250),
            "description": self._description(make, model, year, self.entities),
            "imageUrl": f"https://img.{site}.example.com/p/{stock.lower()}-{rng.randrange(10**6)}.jpg",
            "locationCity": city,
            "locationState": state,
            "sourceUrl": f"https://{site}.example.com/listing/{stock.lower()}",
            "stockNumber": stock,
        }
        return Listing(self.entities, "original", record)

    def _description(self, make: str, model: str, year: int, entity: int) -> str:
        """Return a fresh description: a dealer template filled with the car's facts, or prose.

        A look-alike of a templated car is described by the same template (``entity`` is the
        original's), with its own condition and mileage.
        """
        rng = self.rng
        template = self.templates.get(entity)
        if template is None and rng.random() < self.templated:
            template = self.templates[entity] = rng.randrange(len(DEALER_TEMPLATES))
        if template is None:
            return f"{rng.choice(COLORS)} {model}, " + ", ".join(rng.sample(FEATURES, 4))
        return DEALER_TEMPLATES[template].format(
            year=year, make=make, model=model, condition=rng.choice(CONDITIONS),
            miles=rng.randint(5, 190),
        )  # fmt: skip

    def _variant(self, kind: str, base: dict[str, Any], entity: int) -> dict[str, Any]:
        if kind == "exact":
            return dict(base)
        if kind == "cross_site":
            return self._cross_site(base, entity)
        if kind == "repost":
            return self._repost(base)
        return {**base, "price": self.rng.choice(["n/a", 10, "call"]), "year": 1800}

    def _cross_site(self, base: dict[str, Any], base_entity: int) -> dict[str, Any]:
        rng = self.rng
        site = rng.choice([s for s in SITES if s != base["sourceName"]])
        stock = self._next_stock()
        record = {**base, "sourceName": site, "stockNumber": stock}
        record["sourceUrl"] = f"https://{site}.example.com/listing/{stock.lower()}"
        record["price"] = _price_text(round(base["price"] * rng.uniform(0.95, 1.05), -2), rng)
        if rng.random() < 0.4:
            record["model"] = typo(base["model"], rng)
        if rng.random() < 0.3:
            record["make"] = NAME_VARIANTS.get(base["make"], base["make"].upper())
        templated = base_entity in self.templates
        if self.photos == "reworded":
            record["description"] = reword(base["description"], rng)
        else:
            record["description"] = _edit(base["description"], rng, templated=templated)
        if rng.random() < 0.3:
            record.pop("imageUrl")
        elif self.photos != "shared":  # the site's own copy: its host, its path, its name
            record["imageUrl"] = f"https://cdn.{site}.example.net/p/{rng.getrandbits(40):x}/1.jpg"
        if rng.random() < 0.2:
            record["locationState"] = {v: k for k, v in _STATES.items()}.get(
                base["locationState"], base["locationState"]
            )
        return record

    def _repost(self, base: dict[str, Any]) -> dict[str, Any]:
        stock = self._next_stock()
        record = {**base, "stockNumber": stock, "price": round(base["price"] * 0.97, -2)}
        record["sourceUrl"] = f"https://{base['sourceName']}.example.com/listing/{stock.lower()}"
        return record

    def _lookalike(self, original: Listing, same_city: bool) -> dict[str, Any]:
        rng = self.rng
        base = original.record
        stock = self._next_stock()
        site = rng.choice(SITES)
        city, state = (
            (base["locationCity"], base["locationState"])
            if same_city
            else rng.choice([c for c in CITIES if c[0] != base["locationCity"]])
        )
        return {
            **base,
            "sourceName": site,
            "stockNumber": stock,
            "price": round(base["price"] * rng.uniform(0.8, 1.2), -2),
            "description": self._description(
                base["make"], base["model"], base["year"], original.entity
            ),
            "imageUrl": f"https://img.{site}.example.com/p/{stock.lower()}.jpg",
            "locationCity": city,
            "locationState": state,
            "sourceUrl": f"https://{site}.example.com/listing/{stock.lower()}",
        }


_STATES = {"California": "CA", "Texas": "TX", "Arizona": "AZ", "Oklahoma": "OK", "Ohio": "OH"}


def typo(text: str, rng: random.Random) -> str:
    """Return ``text`` with two neighbouring letters of one word swapped (or one dropped)."""
    positions = [i for i in range(len(text) - 1) if text[i].isalpha() and text[i + 1].isalpha()]
    if not positions:
        return text
    i = rng.choice(positions[1:] or positions)
    if rng.random() < 0.5:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text[:i] + text[i + 1 :]


def _edit(description: str, rng: random.Random, *, templated: bool = False) -> str:
    """Return a slightly edited copy: a clause dropped (prose) or boilerplate added (templates),
    and a typo in one word half the time. A template's facts (year, condition, miles) stay."""
    if templated:
        text = description
        if rng.random() < 0.3:
            text = f"{text} {rng.choice(BOILERPLATE)}"
        return typo(text, rng) if rng.random() < 0.5 else text
    parts = description.split(", ")
    if len(parts) > 2 and rng.random() < 0.5:
        parts.pop(rng.randrange(1, len(parts)))
    text = ", ".join(parts)
    return typo(text, rng) if rng.random() < 0.5 else text


def reword(description: str, rng: random.Random) -> str:
    """Return a reselling site's re-wording: the clauses in another order, and a stock dealer
    phrase (``STOCK_PHRASES``) dropped when the description has one (half the time) or added.
    The facts (year, condition, mileage, features) stay."""
    clauses = [clause.strip() for clause in _CLAUSE.split(description) if clause.strip()]
    stock = [clause for clause in clauses if clause in STOCK_PHRASES]
    if stock and rng.random() < 0.5:
        clauses.remove(rng.choice(stock))
    else:
        clauses.append(rng.choice([p for p in STOCK_PHRASES if p not in clauses]))
    order = list(clauses)
    while len(clauses) > 1 and order == clauses:
        rng.shuffle(clauses)
    return " ".join(clauses)


def _price_text(price: float, rng: random.Random) -> Any:
    amount = int(price)
    return rng.choice([amount, f"${amount:,}", f"Bid to ${amount:,}", str(amount)])
