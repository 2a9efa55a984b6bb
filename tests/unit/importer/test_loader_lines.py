"""The importer's line parsing: rows with the file's collection time, failures with reasons."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from services.importer.loader import (
    FailedRow,
    LineReader,
    LoadResult,
    parse_lines,
    read_chunk,
)

COLUMNS = ("make", "year")
AT = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)


def test_each_bad_line_is_a_failure_with_its_reason_and_content() -> None:
    """Undecodable, non-object and ill-typed lines fail with their line, content and reason."""
    lines = [
        (1, b'{"make": "Ford", "year": 1965}\n'),
        (2, b'{"make": "Fo\xff\n'),
        (3, b"[1, 2]\n"),
        (5, b'{"make": "Ford", "year": "soon"}\n'),
    ]
    staged, failed = parse_lines(COLUMNS, lines, AT)
    assert [(row.line, row.values[-1]) for row in staged] == [(1, AT)]
    assert [f.line for f in failed] == [2, 3, 5]
    assert failed[0].row == '{"make": "Fo\ufffd'
    assert "not valid UTF-8" in failed[0].error  # the parser's own words
    assert failed[1] == FailedRow(3, [1, 2], "line is not a JSON object")
    assert failed[2].row == {"make": "Ford", "year": "soon"}
    assert failed[2].error.startswith("column year")


def test_a_chunk_read_carries_the_collection_time_and_stops_at_its_size(tmp_path: Path) -> None:
    """Chunks of two non-blank lines, numbered as in the file, each row ending with the time."""
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"make": "A"}\n\n{"make": "B"}\n{"make": "C"}\n')
    reader = LineReader(path)
    try:
        first = read_chunk(reader, COLUMNS, 2, AT)
        second = read_chunk(reader, COLUMNS, 2, AT)
    finally:
        reader.close()
    assert [(row.line, row.values) for row in first.staged] == [
        (1, ("A", None, AT)),
        (3, ("B", None, AT)),
    ]
    assert first.lines == 2
    assert [row.line for row in second.staged] == [4]


def test_results_add_up() -> None:
    """Adding a chunk's result adds every count and keeps every failure."""
    total = LoadResult(rows_total=1, inserted=1, updated=2, unchanged=3, chunks=1)
    total.add(
        LoadResult(
            rows_total=4,
            inserted=5,
            updated=6,
            unchanged=7,
            chunks=1,
            failed=[FailedRow(9, {}, "x")],
        )
    )
    assert (total.rows_total, total.inserted, total.updated, total.unchanged, total.chunks) == (
        5,
        6,
        8,
        10,
        2,
    )
    assert total.failed == [FailedRow(9, {}, "x")]
