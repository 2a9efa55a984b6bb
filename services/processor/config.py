"""The processor's settings: the shared infrastructure plus its own ``PROCESSOR_`` knobs."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, HttpUrl, field_validator

from shared.settings import PipelineSettings

from .grading import load_rules_file
from .processing import CHUNK_SIZE
from .sources.apify import load_field_maps


class ProcessorSettings(PipelineSettings):
    """Infrastructure settings plus concurrency, mapping, dedup and enrichment knobs."""

    max_in_flight: int = Field(default=1, ge=1, le=64, validation_alias="PROCESSOR_MAX_IN_FLIGHT")
    ack_wait_s: float = Field(default=60.0, gt=0, validation_alias="PROCESSOR_ACK_WAIT_S")
    max_deliver: int = Field(default=10, ge=1, validation_alias="PROCESSOR_MAX_DELIVER")
    grading_rules_file: Path | None = Field(
        default=None, validation_alias="PROCESSOR_GRADING_RULES_FILE"
    )
    apify_field_maps_file: Path | None = Field(
        default=None, validation_alias="PROCESSOR_APIFY_FIELD_MAPS_FILE"
    )
    chunk_size: int = Field(
        default=CHUNK_SIZE, ge=1, le=100_000, validation_alias="PROCESSOR_CHUNK_SIZE"
    )
    link_threshold: float = Field(
        default=82.0, ge=0, le=100, validation_alias="PROCESSOR_LINK_THRESHOLD"
    )
    geocoder: Literal["offline", "nominatim"] = Field(
        default="offline", validation_alias="PROCESSOR_GEOCODER"
    )
    nominatim_user_agent: str = Field(
        default="classic-car-pipeline", validation_alias="PROCESSOR_NOMINATIM_USER_AGENT"
    )
    nominatim_url: HttpUrl = Field(
        default=HttpUrl("https://nominatim.openstreetmap.org"),
        validation_alias="PROCESSOR_NOMINATIM_URL",
    )
    """Where Nominatim answers: the public server by default, or one of your own (its usage
    policy allows one request a second and no bulk geocoding)."""
    check_images: bool = Field(default=False, validation_alias="PROCESSOR_CHECK_IMAGES")
    image_check_concurrency: int = Field(
        default=16, ge=1, le=256, validation_alias="PROCESSOR_IMAGE_CHECK_CONCURRENCY"
    )
    """How many image HEAD checks of a chunk run at once."""
    image_check_budget_s: float = Field(
        default=30.0, gt=0, validation_alias="PROCESSOR_IMAGE_CHECK_BUDGET_S"
    )
    """The time a chunk's image checks may take in all; those still running are left unchecked."""
    reader_process: bool = Field(default=True, validation_alias="PROCESSOR_READER_PROCESS")
    """Read files (parse, validate, enrich, matching keys) in a child process per file in flight,
    beside the linking, instead of in a thread that shares the interpreter lock with it."""

    @field_validator("grading_rules_file")
    @classmethod
    def _check_grading_rules(cls, value: Path | None) -> Path | None:
        if value is not None:
            try:
                load_rules_file(value)
            except (OSError, ValueError, TypeError) as exc:
                msg = f"unusable grading rules file {str(value)!r}: {exc}"
                raise ValueError(msg) from exc
        return value

    @field_validator("apify_field_maps_file")
    @classmethod
    def _check_field_maps(cls, value: Path | None) -> Path | None:
        if value is not None:
            try:
                load_field_maps(value)
            except (OSError, ValueError) as exc:
                msg = f"unusable Apify field-maps file {str(value)!r}: {exc}"
                raise ValueError(msg) from exc
        return value
