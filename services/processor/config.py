"""The processor's settings: the shared infrastructure plus its own ``PROCESSOR_`` knobs."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.settings import PipelineSettings


class ProcessorSettings(PipelineSettings):
    """Infrastructure settings plus concurrency, redelivery and grading knobs of the processor."""

    max_in_flight: int = Field(default=2, ge=1, le=64, validation_alias="PROCESSOR_MAX_IN_FLIGHT")
    ack_wait_s: float = Field(default=60.0, gt=0, validation_alias="PROCESSOR_ACK_WAIT_S")
    max_deliver: int = Field(default=5, ge=1, validation_alias="PROCESSOR_MAX_DELIVER")
    grading_rules_file: Path | None = Field(
        default=None, validation_alias="PROCESSOR_GRADING_RULES_FILE"
    )
