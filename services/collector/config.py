"""Collector settings: the shared infrastructure plus the inbox timing knobs (``COLLECTOR_*``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import PipelineSettings


class CollectorSettings(PipelineSettings):
    """What the collector reads from the environment on top of the shared settings."""

    collector_stable_s: float = Field(default=1.0, gt=0, validation_alias="COLLECTOR_STABLE_S")
    collector_rescan_s: float = Field(default=30.0, gt=0, validation_alias="COLLECTOR_RESCAN_S")

    @property
    def collector_poll_s(self) -> float:
        """Return how often a waiting file is stat-ed: a few times per stability period."""
        return min(0.25, self.collector_stable_s / 4)

    @property
    def collector_writing_stable_s(self) -> float:
        """Return how long a file still marked open-for-writing must be unchanged.

        The mark is cleared by the close event; if that event was lost, the file is still
        collected once it has not changed for a whole re-scan period.
        """
        return max(self.collector_stable_s, self.collector_rescan_s)
