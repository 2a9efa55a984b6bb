"""A chunk's rows cross to the async side as their link fields plus the rest already serialized."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.processor.chunks import Chunk
from services.processor.stages.write import (
    BatchWriter,
    dumps_line,
    frame,
    frame_columns,
    write_chunk,
)
from shared.events import RecordType
from shared.records import LINK_FIELDS, Vehicle, processed_columns

from .conftest import vehicle


@pytest.mark.parametrize("record_type", list(RecordType))
def test_frame_columns_surround_the_link_fields(record_type: RecordType) -> None:
    """Before, link fields and after are every processed column, in order."""
    head, tail = frame_columns(record_type)
    assert (*head, *LINK_FIELDS, *tail) == processed_columns(record_type)


def _row(record_type: RecordType, number: int) -> dict[str, Any]:
    row: dict[str, Any] = {c: f'{c} \u00e9 "{number}"' for c in processed_columns(record_type)}
    row.update(data_hash=f"{number:064x}", price=Decimal("61000.50"), year=1967 + number)
    row["enrichment"] = {"grade": {"grade": "B"}, "price": Decimal("3")}
    row["match_fields"] = None
    return row


@pytest.mark.parametrize("record_type", list(RecordType))
def test_a_written_row_is_the_row_serialized_whole(record_type: RecordType, tmp_path: Path) -> None:
    """Link fields filled after framing land in the line, byte for byte as one serialization."""
    head, tail = frame_columns(record_type)
    rows = [_row(record_type, n) for n in range(3)]
    frames = [frame(row, head, tail) for row in rows]
    open_rows = [{name: row[name] for name in ("data_hash", *LINK_FIELDS)} for row in rows]
    for row, linked in zip(rows, open_rows, strict=True):  # what linking does, on both
        for target in (row, linked):
            target["canonical_hash"] = "c" * 64
            target["match_score"] = 0.91
            target["match_fields"] = ["description", "image_url"]
        linked["enrichment"]["dedup"] = {"status": "new"}  # the same dict as the row's
    writer = BatchWriter(tmp_path / "out.jsonl", tmp_path / "failed.jsonl")
    with writer:
        write_chunk(writer, Chunk(open_rows, frames, [b'{"bad":1}\n'], done=True))
    columns = processed_columns(record_type)
    expected = b"".join(dumps_line({c: row[c] for c in columns}) for row in rows)
    assert (tmp_path / "out.jsonl").read_bytes() == expected
    assert (tmp_path / "failed.jsonl").read_bytes() == b'{"bad":1}\n'


def test_a_framed_row_has_exactly_the_processed_columns(tmp_path: Path) -> None:
    """A processed line has exactly the importer's columns, in order, whatever the row holds."""
    record = Vehicle.model_validate(vehicle())
    columns = processed_columns(RecordType.VEHICLES)
    row = record.to_row()
    row.update({c: "x" for c in columns if c not in row}, unrelated=1)
    head, tail = frame_columns(RecordType.VEHICLES)
    open_row = {name: row[name] for name in ("data_hash", *LINK_FIELDS)}
    writer = BatchWriter(tmp_path / "out.jsonl", tmp_path / "failed.jsonl")
    with writer:
        write_chunk(writer, Chunk([open_row], [frame(row, head, tail)], [], done=True))
    line = orjson.loads((tmp_path / "out.jsonl").read_bytes())
    assert tuple(line) == columns
    assert line["data_hash"] == record.data_hash()
    with pytest.raises(KeyError):
        frame({k: v for k, v in row.items() if k != "make"}, head, tail)
