"""``pipeline`` commands of the processor."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
import orjson

from services.cli.common import run_async, settings_or_exit
from services.processor.chunks import CHUNK_SIZE
from services.processor.dedup.scoring import LINK_THRESHOLD
from services.processor.handlers import original_name_of
from services.processor.processing import Options, process_file
from services.processor.quality.generator import PHOTO_MODES
from services.processor.quality.store_path import measure_in_store
from services.processor.stages.enrich import Enricher
from services.processor.summary import Summary
from shared.events import RecordType, utcnow
from shared.logs import configure_logging
from shared.storage import DataDir

TARGET_PRECISION = 0.97
TARGET_RECALL = 0.95


@click.command("dedup-quality")
@click.option("--n", "n", default=3000, show_default=True, help="Listings to generate.")
@click.option("--seed", default=7, show_default=True, help="Seed of the generator.")
@click.option(
    "--threshold", default=LINK_THRESHOLD, show_default=True, help="Link score threshold, 0..100."
)
@click.option(
    "--chunk-size",
    default=CHUNK_SIZE,
    show_default=True,
    help="Listings linked together, as in a file of this many (small: files dropped one by one).",
)
@click.option(
    "--photos",
    "shapes",
    type=click.Choice(PHOTO_MODES),
    multiple=True,
    help="The shape of a copy on another site (repeatable; default: each in turn).",
)
@click.option("--check", is_flag=True, help="Exit 1 when precision or recall misses the target.")
def dedup_quality(
    n: int, seed: int, threshold: float, chunk_size: int, shapes: tuple[str, ...], check: bool
) -> None:
    """Measure precision and recall of the duplicate links.

    Generates listings with ground truth and links them as the processor does, through its
    PostgreSQL index (a throw-away database beside DATABASE_URL's, dropped at the end), once with
    each shape of a copy on another site: it keeps the original's photo URL (shared), it has its
    own photo on its own host and path (rehosted), or its own photo and a re-worded description:
    clauses reordered, a stock dealer phrase added or dropped (reworded).

    \b
    Example:
      pipeline dedup-quality --n 3000 --check
      pipeline dedup-quality --n 10000 --seed 23 --photos reworded
    """
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    dsn = settings.owner_database_url
    met = True
    for photos in shapes or PHOTO_MODES:
        quality = run_async(measure_in_store(dsn, n, seed, threshold, photos, chunk_size))
        for line in quality.lines():
            click.echo(line)
        met &= quality.precision >= TARGET_PRECISION and quality.recall >= TARGET_RECALL
    click.echo(
        f"target precision >= {TARGET_PRECISION} and recall >= {TARGET_RECALL}: "
        + ("met" if met else "NOT met")
    )
    if check and not met:
        sys.exit(1)


@click.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--type",
    "type_name",
    type=click.Choice([t.value for t in RecordType]),
    help="Record type (default: the name of the file's folder, as in inbox/vehicles/).",
)
@click.option("--source", help="Source name (default: the tool the file's name gives, as a drop).")
@click.option(
    "--apify-maps",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="PROCESSOR_APIFY_FIELD_MAPS_FILE",
    help="Apify field maps, as the processor's PROCESSOR_APIFY_FIELD_MAPS_FILE.",
)
@click.option("--show", default=10, show_default=True, help="Failed records to print.")
@click.option("--strict", is_flag=True, help="Exit 1 when a record fails (always when unreadable).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: the counts, reasons and repairs as processing_report.json has them, and the "
    "failed records as the failed files have them (for scripts and CI checks).",
)
def check(
    path: Path,
    type_name: str | None,
    source: str | None,
    apify_maps: Path | None,
    show: int,
    strict: bool,
    fmt: str,
) -> None:
    """Show what dropping a file would give, without loading it.

    Reads, repairs and validates the file as the processor would.

    Prints the counts, failures by reason, repairs by rule and the first failed records with
    their reasons: what a drop of the file would give, before dropping it. Nothing is linked,
    geocoded or written outside a temporary folder.

    \b
    Example:
      pipeline check examples/vehicles.json --type vehicles
      pipeline check inbox/vehicles/dealer.json --strict --format json
    """
    record_type = RecordType(type_name or _type_of_folder(path))
    original_name = original_name_of(path) or path.name  # a raw file: the name it was dropped as
    with tempfile.TemporaryDirectory(prefix="pipeline-check-") as tmp:
        data_dir = DataDir(Path(tmp))
        raw = data_dir.raw(utcnow().date(), record_type) / path.name
        raw.parent.mkdir(parents=True)
        _link_or_copy(path.resolve(), raw)
        options = Options(Enricher(gazetteer=None), apify_maps)
        summary = process_file(
            raw,
            record_type,
            data_dir,
            batch_id="check",
            source=source,
            original_name=original_name,
            options=options,
        )
        failed = _failed_lines(data_dir, summary, show)
    if fmt == "json":
        records = [{k: v for k, v in line.items() if k != "raw_file"} for line in failed]
        entry = {**summary.report_entry(), "raw_file": str(path), "failed": records}
        for temporary in ("batch_id", "processed_path", "failed_path", "error_file"):
            entry.pop(temporary, None)  # paths in the temporary folder, gone now
        click.echo(orjson.dumps(entry, option=orjson.OPT_INDENT_2).decode())
    else:
        for line in _check_lines(path, summary, failed):
            click.echo(line)
    if summary.rejected or (strict and summary.records_invalid):
        sys.exit(1)


def _type_of_folder(path: Path) -> str:
    name = path.resolve().parent.name
    if name not in {t.value for t in RecordType}:
        msg = f"cannot tell the record type from the folder {name!r}: give --type"
        raise click.UsageError(msg)
    return name


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        target.hardlink_to(source)  # a 1 GB file is not copied (same file system)
    except OSError:
        shutil.copyfile(source, target)


def _failed_lines(data_dir: DataDir, summary: Summary, limit: int) -> list[dict[str, Any]]:
    if not summary.failed_path or limit <= 0:
        return []
    lines: list[dict[str, Any]] = []
    with (data_dir.root / summary.failed_path).open("rb") as handle:
        for line in handle:
            lines.append(orjson.loads(line))
            if len(lines) >= limit:
                break
    return lines


def _pairs(counts: dict[str, int]) -> str:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{key} {value}" for key, value in ordered)


def _check_lines(path: Path, summary: Summary, failed: list[dict[str, Any]]) -> list[str]:
    name = path.name
    if summary.original_name and summary.original_name != name:
        name = f"{name} (dropped as {summary.original_name})"
    head = f"{name}: {summary.record_type.value}, source {summary.source}"
    if summary.rejected:
        return [head, f"unreadable: {summary.rejected_reason} (nothing would be loaded)"]
    read = summary.records_read  # the monitor's pass rate: valid / read
    rate = f"{summary.records_valid / read:.1%}" if read else "n/a"
    lines = [
        head,
        f"records {summary.records_read}  valid {summary.records_valid}  "
        f"invalid {summary.records_invalid}  duplicates in the file "
        f"{summary.duplicates_in_batch}  pass rate {rate}",
    ]
    if summary.errors_by_reason:
        lines.append("failures by reason: " + _pairs(summary.errors_by_reason))
    if summary.repairs_by_rule:
        lines.append("repairs: " + _pairs(summary.repairs_by_rule))
    for entry in failed:
        reasons = "; ".join(
            f"{error['field'] or 'record'} {error['rule']}: {error['message']}"
            for error in entry.get("errors", [])
        )
        lines.append(f"  position {entry.get('position')}: {reasons}")
    return lines


COMMANDS: list[click.Command] = [dedup_quality, check]
