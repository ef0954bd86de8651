"""A dataset too large for one pandas frame, validated in chunks with the verdicts of the
whole.

Chunks are drawn by a hash of the columns every uniqueness expectation shares
(:func:`chunk_key`), so duplicates always meet in one chunk; each chunk's rows are written
once to files of their own (:func:`chunk_files`). Row-level results are summed over the
chunks and judged against ``mostly`` on the totals (:func:`merge_chunk_results`);
table-level expectations (:data:`TABLE_LEVEL`) are evaluated once on the full height, and
column and type expectations (:data:`SCHEMA_LEVEL`) must hold in every chunk.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from sentinel.validation.suites import resolved

#: Expectations about the table as a whole: evaluated once, on the full height.
TABLE_LEVEL = frozenset({"expect_table_row_count_to_be_between"})
#: Expectations about the columns themselves (the same verdict on any slice of rows).
SCHEMA_LEVEL = frozenset({"expect_column_to_exist", "expect_column_values_to_be_of_type"})
#: Expectations whose unexpected values are the missing ones (no separate missing count).
_NULLS_ARE_UNEXPECTED = frozenset({"expect_column_values_to_not_be_null"})


def condition_columns(expectation: dict) -> set[str]:
    """Columns the expectation's ``row_condition`` reads (none without one)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            column = node.get("column")
            if isinstance(column, dict) and isinstance(column.get("name"), str):
                found.add(column["name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(expectation["kwargs"].get("row_condition"))
    return found


def chunk_key(suite: dict) -> list[str] | None:
    """Columns shared by every uniqueness expectation of ``suite`` (chunks hash on them).

    Without uniqueness expectations any column splits the rows fairly; when uniqueness
    expectations share no column the suite is validated unchunked (``None``), since no
    split would keep every duplicate in one chunk.
    """
    keys: list[set[str]] = []
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        if expectation["type"] == "expect_compound_columns_to_be_unique":
            keys.append(set(kwargs["column_list"]))
        elif expectation["type"] == "expect_column_values_to_be_unique":
            keys.append({kwargs["column"]})
    if not keys:
        columns = [e["kwargs"]["column"] for e in suite["expectations"] if "column" in e["kwargs"]]
        return columns[:1] or None
    shared = set.intersection(*keys)
    return sorted(shared) or None


@contextlib.contextmanager
def chunk_files(
    frame: pl.DataFrame | pl.LazyFrame, bucket: pl.Expr, chunks: int
) -> Iterator[list[list[Path]]]:
    """Every chunk's rows (in frame order) written once to files of its own in a temporary
    folder, in one streamed pass: the files of chunk ``i`` are the ``i``-th list (empty
    when no row hashed to it)."""
    with tempfile.TemporaryDirectory(prefix="sentinel-validate-") as folder:
        frame.lazy().with_columns(bucket.alias("_chunk")).sink_parquet(
            pl.PartitionBy(
                folder,
                key="_chunk",
                include_key=False,
                max_rows_per_file=None,
                approximate_bytes_per_file=None,
            ),
            mkdir=True,
            # Read once, by the chunk's validation: lz4 writes faster than the default zstd.
            compression="lz4",
        )
        yield [sorted(Path(folder).glob(f"_chunk={index}/*.parquet")) for index in range(chunks)]


def read_chunk(files: list[Path], schema: pl.Schema) -> pl.DataFrame:
    """One chunk's rows, read back from its files (no file: no rows, the same columns)."""
    return pl.concat([pl.DataFrame(schema=schema), *(pl.read_parquet(f) for f in files)])


@dataclass(frozen=True)
class MergedSuiteResult:
    """The part of GE's suite result that :func:`.reports.report_of` reads."""

    results: list[Any]


@dataclass(frozen=True)
class _MergedExpectationResult:
    """One expectation's result summed over chunks (the attributes a report reads)."""

    expectation_config: Any
    success: bool
    result: dict
    exception_info: dict | None


def merge_chunk_results(parts: tuple[Any, ...], parameters: dict) -> Any:
    """One expectation's verdict over all chunks, as GE would give it on the whole frame."""
    first = parts[0]
    raised = [p for p in parts if p.exception_info and p.exception_info.get("raised_exception")]
    if raised:
        return raised[0]
    if any("unexpected_count" not in (p.result or {}) for p in parts):
        # Column existence and type: a property of the columns, the same in every chunk.
        return next((p for p in parts if not p.success), first)
    config = first.expectation_config
    elements = sum(p.result.get("element_count", 0) for p in parts)
    unexpected = sum(p.result.get("unexpected_count", 0) for p in parts)
    missing = sum(p.result.get("missing_count", 0) for p in parts)
    judged = elements if config.type in _NULLS_ARE_UNEXPECTED else elements - missing
    mostly = resolved(config.kwargs.get("mostly", 1.0), parameters)
    success = judged == 0 or (judged - unexpected) / judged >= float(mostly)
    result = {"element_count": elements, "unexpected_count": unexpected}
    if judged:
        result["unexpected_percent"] = 100.0 * unexpected / judged
    if config.type not in _NULLS_ARE_UNEXPECTED:
        result["missing_count"] = missing
    return _MergedExpectationResult(config, success, result, None)
