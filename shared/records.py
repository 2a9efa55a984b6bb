"""Canonical record models (vehicle, event, article): the schema and the business rules.

Input keys are the seed's camelCase names (``imageUrl``, ``locationCity``); snake_case is accepted
too. Schema failures keep pydantic's error types; business-rule failures have the type
``business_rule`` so reports can tell them apart. Every failure of a record is collected.
"""

from __future__ import annotations

import functools
import hashlib
import types
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, NamedTuple, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo
from pydantic_core import (
    CoreSchema,
    ErrorDetails,
    InitErrorDetails,
    PydanticCustomError,
    SchemaValidator,
    ValidationError,
    core_schema,
)

from shared.events import RecordType

MIN_PRICE = Decimal(1_000)
MAX_PRICE = Decimal(10_000_000)
MIN_YEAR = 1920  # the seed's business rule: "too old for database" below it
SCHEMA_MIN_YEAR = 1900  # the seed's schema: below it a year is not a year of the database at all
YEARS_AHEAD = 2  # the seed's schema: up to the current year + 2 (next year's models, announced)
PLACE_MISSING = "an event needs a place: a city or a venue"


def _text_items(value: Any) -> Any:
    """Tidy a list's text items like text fields, and leave out blank ones (a blank tag is none).

    Items that are not strings are kept, to fail validation with their position.
    """
    if not isinstance(value, list):
        return value
    items = (" ".join(item.split()) if isinstance(item, str) else item for item in value)
    return [item for item in items if item != ""]


def choice_key(value: str) -> str:
    """Return a choice text as the vocabularies compare it: lower case, words only, "&" is "and".

    "Muscle Cars", "muscle_cars", "MUSCLE-CARS" and " muscle  cars " share one key.
    """
    text = value.lower().replace("&", " and ").replace("'", " ").replace("\u2019", " ")
    return " ".join(text.replace("-", " ").replace("_", " ").replace(".", " ").split())


@functools.cache
def choice_spellings(enum: type[StrEnum]) -> dict[str, str]:
    """Return the enum's value by the ``choice_key`` of each of its values and member names."""
    spellings = {choice_key(member.name): member.value for member in enum}
    spellings.update({choice_key(member.value): member.value for member in enum})
    return spellings


def _spelled_as(enum: type[StrEnum]) -> BeforeValidator:
    """Read a choice in any case or spacing as the enum spells it ("muscle cars" -> Muscle Cars).

    A value no spelling of the enum matches is left as it is, to fail with the enum's values.
    """
    spellings = choice_spellings(enum)

    def spell(value: Any) -> Any:
        if isinstance(value, str):
            return spellings.get(choice_key(value), value)
        return value

    return BeforeValidator(spell)


def _business_rule(check: Any, message: str) -> AfterValidator:
    def validate(value: Any) -> Any:
        if value is not None and not check(value):
            raise PydanticCustomError("business_rule", message)
        return value

    return AfterValidator(validate)


class _Tidied:
    """Marks a text field: ``Record`` tidies its string before validation (one pass a record)."""

    def __repr__(self) -> str:
        return "TIDIED"


TIDIED = _Tidied()
MAX_URL_CHARS = 65_536

Text = Annotated[str, TIDIED]
"""A text field: trimmed and single-spaced before validation, blank when only whitespace.

Its length limits (``Field(max_length=...)``) are then checked by pydantic-core itself, as
``string_too_long`` / ``string_too_short``; a ``BeforeValidator`` in front of them would move the
check into Python (~10 calls a record) and report it as a collection's ``too_long``.
"""


_URL_PARSER = SchemaValidator(core_schema.url_schema(max_length=MAX_URL_CHARS))
"""The WHATWG URL parser (pydantic-core's, the same standard as the seed's ``z.string().url()``)."""


def url_problem(value: str) -> str | None:
    """Return why a URL field would refuse ``value`` (pydantic's error type), or None if not.

    The same check as the records' URL fields, on the value as they tidy it.
    """
    try:
        _URL_PARSER.validate_python(" ".join(value.split()))
    except ValidationError as exc:
        return exc.errors()[0]["type"]
    return None


WEB_SCHEMES = frozenset({"http", "https"})


def is_web_url(value: str) -> bool:
    """Return whether ``value`` is an http(s) URL as a browser parses it (safe to link or fetch).

    Records keep any URL the WHATWG parser accepts, as given (the seed's ``z.string().url()``):
    ``ftp:``, ``mailto:``, ``javascript:`` included. What is served as a link or fetched must pass
    this check first.
    """
    try:
        return _URL_PARSER.validate_python(" ".join(value.split())).scheme in WEB_SCHEMES
    except ValidationError:
        return False


def normalized_url(value: str) -> str:
    """Return a valid URL as the WHATWG parser writes it (lower-case host, "/" for an empty path).

    Records store a URL as given; keys that must not depend on its spelling use this form.
    """
    return str(_URL_PARSER.validate_python(value))


def _url_as_given(value: str) -> str:
    """Check a URL with the WHATWG parser and keep it as given (the seed stores it so)."""
    try:
        _URL_PARSER.validate_python(value)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise PydanticCustomError(error["type"], error["msg"]) from None
    return value


URL_SCHEMA = core_schema.no_info_after_validator_function(
    _url_as_given, core_schema.str_schema(max_length=MAX_URL_CHARS)
)
"""A URL field: any absolute URL the WHATWG parser accepts, at most ``MAX_URL_CHARS`` long."""


class _UrlSchema:
    """Validates a URL field with ``URL_SCHEMA``: parsed to check it, stored as given."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return URL_SCHEMA


Url = Annotated[str, _UrlSchema(), TIDIED]
"""A URL field: tidied like text, then checked by the WHATWG parser; the value is the text."""


def _marked_tidied(annotation: Any) -> bool:
    """Return whether a field's type is text or a URL (``TIDIED``), optional or not.

    Looks through ``Annotated`` and unions only: the items of a list of text are not the field.
    """
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *metadata = get_args(annotation)
        return any(item is TIDIED for item in metadata) or _marked_tidied(base)
    if origin in (Union, types.UnionType):
        return any(_marked_tidied(arg) for arg in get_args(annotation))
    return False


def _tidied(field: FieldInfo) -> bool:
    return any(item is TIDIED for item in field.metadata) or _marked_tidied(field.annotation)


def storable(text: str) -> str:
    """Return ``text`` as PostgreSQL can store it: NUL (which text and jsonb refuse) is U+FFFD."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


class InputRule(NamedTuple):
    """What ``Record._tidy`` does to one input key before validation."""

    text: bool  # a text or URL field: its string is trimmed and single-spaced, an integer a string
    required: bool  # required: blank text stays "" (too short); else blank is missing
    null_is_missing: bool  # optional with a default other than None: null takes the default
    blank_kept: bool = False  # required text of only whitespace is kept as given (the seed's)

    def apply(self, value: Any) -> Any:
        """Return the tidied value, ``_MISSING`` to remove the key, or ``_UNCHANGED``."""
        if value is None:
            return _MISSING if self.null_is_missing else _UNCHANGED
        if self.text and isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # a stock number or a model ("911") given as a JSON number
        if not isinstance(value, str):
            return _UNCHANGED
        if not self.text:  # an optional field of another type: only a blank string changes
            return _MISSING if not value or value.isspace() else _UNCHANGED
        text = storable(value)
        clean = " ".join(text.split())
        if clean == value and (clean or self.required):
            return _UNCHANGED
        if not clean and self.blank_kept:
            return text  # " " is a string of length 1 to the seed's schema: accepted as is
        return clean if clean or self.required else _MISSING


_MISSING = object()  # remove the key: the field's default applies
_UNCHANGED = object()


def record_hash(*parts: object) -> str:
    """Return the SHA-256 natural key over lower-cased, trimmed parts joined with '|'."""
    joined = "|".join("" if p is None else " ".join(str(p).lower().split()) for p in parts)
    return hashlib.sha256(joined.encode()).hexdigest()


class VehicleCategory(StrEnum):
    """What kind of collector car a listing is: the seed's categories, spelled as the seed does."""

    MUSCLE = "Muscle Cars"
    SPORTS = "Sports Cars"
    CLASSIC = "Classic Cars"
    HOT_ROD = "Hot Rods"
    RESTOMOD = "Restomods"
    LUXURY = "Luxury Cars"
    TRUCK = "Trucks"


class VehicleCondition(StrEnum):
    """The seller's stated condition, best first: the seed's values, spelled as the seed does."""

    EXCELLENT = "Excellent"
    VERY_GOOD = "Very Good"
    GOOD = "Good"
    FAIR = "Fair"
    PROJECT = "Project"


class VehicleRegion(StrEnum):
    """Where a listed car is: the seed's regions (the US census regions, then continents)."""

    WEST = "West"
    SOUTH = "South"
    MIDWEST = "Midwest"
    NORTHEAST = "Northeast"
    EUROPE = "Europe"
    ASIA = "Asia"
    OCEANIA = "Oceania"


class EventType(StrEnum):
    """What kind of car event it is."""

    SHOW = "show"
    AUCTION = "auction"
    CONCOURS = "concours"
    RALLY = "rally"
    RACE = "race"
    MEET = "meet"
    SWAP_MEET = "swap_meet"
    CRUISE = "cruise"
    OTHER = "other"


class ArticleCategory(StrEnum):
    """What an article is about."""

    NEWS = "news"
    AUCTION_RESULTS = "auction_results"
    BUYERS_GUIDE = "buyers_guide"
    MARKET_ANALYSIS = "market_analysis"
    RESTORATION = "restoration"
    HISTORY = "history"
    EVENT_COVERAGE = "event_coverage"
    REVIEW = "review"
    OTHER = "other"


class Record(BaseModel):
    """Base of the canonical records: camelCase in, snake_case out, every error collected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        str_max_length=200_000,
    )
    record_type: ClassVar[RecordType]
    input_rules: ClassVar[dict[str, InputRule]] = {}
    """How ``_tidy`` treats each input key (alias and name) of a text field or optional field."""
    keeps_blank_text: ClassVar[bool] = False
    """A required text of only whitespace is kept as given (the seed's schema accepts it)."""

    source_name: Annotated[Text, Field(min_length=1, max_length=100)]
    source_url: Url | None = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Work out once, when a record type's class is built, what ``_tidy`` does to each key."""
        super().__pydantic_init_subclass__(**kwargs)
        cls.input_rules = {
            key: InputRule(
                text=_tidied(field),
                required=field.is_required(),
                null_is_missing=not field.is_required() and field.default is not None,
                blank_kept=cls.keeps_blank_text and field.is_required(),
            )
            for name, field in cls.model_fields.items()
            if _tidied(field) or not field.is_required()
            for key in (field.alias or name, name)
        }

    @model_validator(mode="before")
    @classmethod
    def _tidy(cls, data: Any) -> Any:
        """Tidy the input before validation, in one pass a record.

        Text and URL strings are trimmed and single-spaced. A blank value (only whitespace) of an
        optional field of any type is missing, and so is ``null`` where the default is not
        ``None`` (tags, an event's country): the default applies. A blank required text stays
        "" and fails its minimum length ("String should have at least 1 character"). The input
        is copied only when something changes.
        """
        if not isinstance(data, dict):
            return data
        rules = cls.input_rules
        changes: dict[str, Any] = {}
        for key, value in data.items():
            rule = rules.get(key)
            if rule is not None:
                change = rule.apply(value)
                if change is not _UNCHANGED:
                    changes[key] = change
        if not changes:
            return data
        tidied = dict(data)
        for key, change in changes.items():
            if change is _MISSING:
                del tidied[key]
            else:
                tidied[key] = change
        return tidied

    def data_hash(self) -> str:
        """Return the record's natural key (SHA-256), the same across files, days and replicas."""
        raise NotImplementedError

    def to_row(self) -> dict[str, Any]:
        """Return the record as JSON-ready snake_case columns, with ``data_hash``."""
        row = self.model_dump(mode="json", by_alias=False)
        row["data_hash"] = self.data_hash()
        return row


def latest_year() -> int:
    """Return the latest model year a listing may have: the current year + ``YEARS_AHEAD``."""
    return datetime.now(UTC).year + YEARS_AHEAD


def _not_after_latest_year(year: int) -> int:
    """Refuse a year after ``latest_year()``, read when the record is validated (not at start)."""
    latest = latest_year()
    if year > latest:
        raise PydanticCustomError(
            "less_than_equal", "Input should be less than or equal to {le}", {"le": latest}
        )
    return year


class Vehicle(Record):
    """A vehicle listing: the seed's ``vehicleSchema`` and its business rules on price and year.

    Every value the seed's schema accepts is accepted and kept as the seed spells it; the price
    is optional (an auction lot, "call for price"), and its rule applies when one is given.
    """

    record_type: ClassVar[RecordType] = RecordType.VEHICLES
    keeps_blank_text: ClassVar[bool] = True

    make: Annotated[Text, Field(min_length=1, max_length=100)]
    model: Annotated[Text, Field(min_length=1, max_length=100)]
    year: Annotated[
        int,
        Field(ge=SCHEMA_MIN_YEAR),
        AfterValidator(_not_after_latest_year),
        _business_rule(lambda y: y >= MIN_YEAR, f"year must be {MIN_YEAR} or later"),
    ]
    price: (
        Annotated[
            Decimal,
            Field(decimal_places=2, allow_inf_nan=False),
            _business_rule(
                lambda p: MIN_PRICE <= p <= MAX_PRICE,
                f"price must be between {MIN_PRICE:,} and {MAX_PRICE:,}",
            ),
        ]
        | None
    ) = None
    description: Annotated[Text, Field(max_length=5000)] | None = None
    image_url: Url | None = None
    location_city: Annotated[Text, Field(max_length=100)] | None = None
    location_state: Annotated[Text, Field(min_length=2, max_length=2)] | None = None
    location_region: Annotated[VehicleRegion, _spelled_as(VehicleRegion)] | None = None
    category: Annotated[VehicleCategory, _spelled_as(VehicleCategory)] | None = None
    condition: Annotated[VehicleCondition, _spelled_as(VehicleCondition)] | None = None
    stock_number: Annotated[Text, Field(max_length=100)] | None = None

    def data_hash(self) -> str:
        """Return the seed's key: SHA-256 of make|model|year|stock number|source, lower-cased."""
        return record_hash(self.make, self.model, self.year, self.stock_number, self.source_name)


_PLACE_FIELDS = ("city", "venue")
_PLACE_ERROR = ErrorDetails(type="missing", loc=("city",), msg=PLACE_MISSING, input=None)


def _has_place(data: dict[str, Any]) -> bool:
    """Return whether an event's input names a place (a city or a venue that is not blank)."""
    for name in _PLACE_FIELDS:
        for key in (name, to_camel(name)):
            value = data.get(key)
            if value is not None and not (isinstance(value, str) and not value.strip()):
                return True
    return False


def _failures(model: type[BaseModel], errors: list[ErrorDetails]) -> ValidationError:
    """Return one ``ValidationError`` holding ``errors`` as they were reported."""
    details = [
        InitErrorDetails(
            type=PydanticCustomError(error["type"], error["msg"]),
            loc=error["loc"],
            input=error["input"],
        )
        for error in errors
    ]
    return ValidationError.from_exception_data(model.__name__, details)


class CarEvent(Record):
    """A car show, auction, concours or other event.

    What identifies an event and makes it usable is required: its name, its start date and a
    place to go to, a city or a venue (a state or a country alone is a region, not a place).
    Its type only classifies it: without one it is ``other`` (the processor infers it from the
    name first, and records the repair).
    """

    record_type: ClassVar[RecordType] = RecordType.EVENTS

    name: Annotated[Text, Field(min_length=3, max_length=200)]
    event_type: Annotated[EventType, _spelled_as(EventType)] = EventType.OTHER
    start_date: date
    end_date: date | None = None
    venue: Annotated[Text, Field(max_length=200)] | None = None
    city: Annotated[Text, Field(min_length=1, max_length=100)] | None = None
    state: Annotated[Text, Field(max_length=50)] | None = None
    region: Annotated[Text, Field(max_length=50)] | None = None
    country: Annotated[Text, Field(max_length=56)] = "US"
    description: Annotated[Text, Field(max_length=5000)] | None = None
    url: Url | None = None
    image_url: Url | None = None
    organizer: Annotated[Text, Field(max_length=200)] | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> CarEvent:
        # Defined before ``_with_place``, which wraps it: a place missing is reported with it.
        if self.end_date is not None and self.end_date < self.start_date:
            raise PydanticCustomError("business_rule", "endDate must not be before startDate")
        return self

    @model_validator(mode="wrap")
    @classmethod
    def _with_place(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """Refuse an event with no city and no venue, beside any other failure it has."""
        try:
            event = handler(data)
        except ValidationError as exc:
            if not isinstance(data, dict) or _has_place(data):
                raise
            raise _failures(cls, [*exc.errors(), _PLACE_ERROR]) from None
        if event.city is None and event.venue is None:
            raise _failures(cls, [_PLACE_ERROR])
        return event

    def data_hash(self) -> str:
        """Return SHA-256 of name|start date|place|source; the place is the city, else the venue."""
        place = self.city if self.city is not None else self.venue
        return record_hash(self.name, self.start_date.isoformat(), place, self.source_name)


class Article(Record):
    """A news story, auction report, buyer's guide or other article."""

    record_type: ClassVar[RecordType] = RecordType.ARTICLES

    title: Annotated[Text, Field(min_length=3, max_length=300)]
    url: Url
    summary: Annotated[Text, Field(max_length=2000)] | None = None
    body: Annotated[Text, Field(max_length=200_000)] | None = None
    author: Annotated[Text, Field(max_length=200)] | None = None
    published_date: date | None = None
    category: Annotated[ArticleCategory, _spelled_as(ArticleCategory)] | None = None
    tags: Annotated[
        list[Annotated[str, Field(max_length=50)]],
        Field(max_length=20),
        BeforeValidator(_text_items),
    ] = Field(default_factory=list)
    image_url: Url | None = None

    def data_hash(self) -> str:
        """Return SHA-256 of url|source, the URL as the WHATWG parser writes it."""
        return record_hash(normalized_url(self.url), self.source_name)


MODELS: dict[RecordType, type[Record]] = {
    RecordType.VEHICLES: Vehicle,
    RecordType.EVENTS: CarEvent,
    RecordType.ARTICLES: Article,
}


# What the processor adds to each valid record, and the importer loads, besides the model fields.
LINEAGE_FIELDS: tuple[str, ...] = (
    "raw_file",  # path of the raw file, relative to DATA_DIR
    "record_position",  # 0-based position of the record in that file
    "batch_id",  # the processed batch (raw content hash + processing version)
    "processed_at",  # ISO-8601 UTC
    "pipeline_version",
)
# Link and enrichment fields: written by the processor, loaded by the importer.
#   canonical_hash  data_hash of the listing this record is a near-duplicate of (null if none)
#   match_score     0..100 score of that link;  match_fields  the fields that matched
#   enrichment      JSON object: repairs made, market context, geocode, image check, and where
#                   each came from (rule, geocoder, comparables)
LINK_FIELDS: tuple[str, ...] = ("canonical_hash", "match_score", "match_fields", "enrichment")
ENRICHMENT_FIELDS: dict[RecordType, tuple[str, ...]] = {
    RecordType.VEHICLES: ("investment_grade", "grade_rule", *LINK_FIELDS),
    RecordType.EVENTS: LINK_FIELDS,
    RecordType.ARTICLES: LINK_FIELDS,
}


def processed_columns(record_type: RecordType) -> tuple[str, ...]:
    """Return the keys of one processed JSON line, which are also the table's data columns."""
    model_fields = tuple(MODELS[record_type].model_fields)
    return (*model_fields, "data_hash", *ENRICHMENT_FIELDS[record_type], *LINEAGE_FIELDS)
