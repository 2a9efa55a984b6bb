"""``pipeline`` commands of the processor."""

from __future__ import annotations

import sys

import click

from services.processor.dedup.scoring import LINK_THRESHOLD
from services.processor.quality.report import measure

TARGET_PRECISION = 0.97
TARGET_RECALL = 0.95


@click.command("dedup-quality")
@click.option("--n", "n", default=3000, show_default=True, help="Listings to generate.")
@click.option("--seed", default=7, show_default=True, help="Seed of the generator.")
@click.option(
    "--threshold", default=LINK_THRESHOLD, show_default=True, help="Link score threshold, 0..100."
)
@click.option("--check", is_flag=True, help="Exit 1 when precision or recall misses the target.")
def dedup_quality(n: int, seed: int, threshold: float, check: bool) -> None:
    """Generate listings with ground truth and print precision and recall of the dedup links."""
    quality = measure(n, seed, threshold)
    for line in quality.lines():
        click.echo(line)
    met = quality.precision >= TARGET_PRECISION and quality.recall >= TARGET_RECALL
    click.echo(
        f"target precision >= {TARGET_PRECISION} and recall >= {TARGET_RECALL}: "
        + ("met" if met else "NOT met")
    )
    if check and not met:
        sys.exit(1)


COMMANDS: list[click.Command] = [dedup_quality]
