"""The importer's settings: shared infrastructure plus ``IMPORTER_``-prefixed knobs."""

from __future__ import annotations

from pydantic import Field

from shared.settings import PipelineSettings


class ImporterSettings(PipelineSettings):
    """Settings of one importer process, read once from the environment."""

    chunk_size: int = Field(
        default=5000, ge=100, le=100_000, validation_alias="IMPORTER_CHUNK_SIZE"
    )
    # One batch at a time: the loader already overlaps reading a batch with writing it, and a
    # second batch at once took the importer to 317 MiB (two files x two chunks of rows held) in
    # the 1,000,000-listing benchmark once the processor kept up; replicas scale the importer.
    max_in_flight: int = Field(default=1, ge=1, le=32, validation_alias="IMPORTER_MAX_IN_FLIGHT")
    ack_wait_s: float = Field(default=60.0, gt=0, validation_alias="IMPORTER_ACK_WAIT_S")
    max_deliver: int = Field(default=10, ge=1, validation_alias="IMPORTER_MAX_DELIVER")
    app_role: str | None = Field(
        default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$", validation_alias="IMPORTER_APP_ROLE"
    )
