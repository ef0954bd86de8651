"""Read one dataset file of a monthly drop into an all-text frame.

The reader decides nothing about meaning: it finds the file, decodes it without guessing,
maps headers (English or Chinese) to the contract's canonical column names and hands back
every value as stripped text. Typing values and mapping categories happen in
``features.parsing``; deciding what to quarantine happens downstream.

Every problem that makes a file untrustworthy raises :class:`sentinel.contract.ContractError`
naming the file, the column (or ``None``) and the problem. Each format has its module:
:mod:`sentinel.io.csv_text` (decoding and splitting CSV), :mod:`sentinel.io.workbooks`
(xlsx) and parquet here; :mod:`sentinel.io.conform` makes their text columns the contract's.
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass, fields
from pathlib import Path

import polars as pl

from sentinel.contract import FILE_SUFFIXES, ContractError, Dataset
from sentinel.io.conform import (
    MALFORMED_COLUMN,
    ROW_COLUMN,
    Frame,
    HeaderLanguage,
    conform_to_contract,
)
from sentinel.io.csv_text import decode_csv_bytes, split_csv_text
from sentinel.io.workbooks import NO_FORMULA_DATASETS, read_xlsx_cells, refuse_formulas

__all__ = [
    "RawFile",
    "RawSource",
    "RawTable",
    "find_dataset_file",
    "read_dataset",
    "sink_raw_dataset",
]


@dataclass(frozen=True)
class RawSource:
    """Where a dataset's text was read from: the file, its sha256 and how its text was
    written (``encoding`` is ``None`` for parquet and xlsx)."""

    dataset: str
    file: Path
    sha256: str
    encoding: str | None
    header_language: HeaderLanguage


@dataclass(frozen=True)
class RawTable(RawSource):
    """One dataset file read as text.

    ``frame`` holds every column as ``pl.String``: the contract columns under their
    canonical names in contract order (absent optional columns all-null), then unknown
    extra columns under their original header, then ``_row`` (Int64, 1-based data row
    number in the file, counting from the first row under the header) and ``_malformed``
    (null unless the row could not be split into the header's fields).
    ``encoding`` is ``None`` for parquet and xlsx.
    """

    frame: pl.DataFrame


@dataclass(frozen=True)
class RawFile(RawSource):
    """One dataset file stored as its all-text Parquet copy (the :class:`RawTable` frame,
    on disk at ``path``); ``rows`` is its row count."""

    path: Path
    rows: int


def find_dataset_file(month_dir: Path, dataset: Dataset) -> Path | None:
    """Return the file holding ``dataset`` in a month's drop folder, or ``None``.

    A dataset is ``<name>.parquet``, ``<name>.csv`` or ``<name>.xlsx`` (suffix case
    ignored). Two candidates for one dataset are ambiguous and raise ``ContractError``.
    """
    month_dir = Path(month_dir)
    if not month_dir.is_dir():
        return None
    candidates = sorted(
        p
        for p in month_dir.iterdir()
        if p.is_file() and p.stem == dataset.name and p.suffix.lower() in FILE_SUFFIXES
    )
    if len(candidates) > 1:
        names = ", ".join(p.name for p in candidates)
        raise ContractError(
            str(month_dir), None, f"two files for dataset {dataset.name!r}: {names}"
        )
    return candidates[0] if candidates else None


def read_dataset(path: Path, dataset: Dataset) -> RawTable:
    """Read one dataset file (parquet, csv or xlsx) into a :class:`RawTable`.

    Values are stripped of surrounding whitespace and empty values become null; identity
    numbers stay text exactly as typed (only a trailing lowercase ``x`` is upper-cased).
    Rows of a CSV whose field count differs from the header are kept and described in
    ``_malformed``. Raises ``ContractError`` for an unreadable or undecodable file, a
    missing required column, or two headers naming the same column.
    """
    path = Path(path)
    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ContractError(file, None, f"cannot read file: {exc.strerror or exc}") from exc
    sha256 = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    encoding: str | None = None
    if suffix == ".csv":
        text, encoding = decode_csv_bytes(data, file)
        body = data[len(codecs.BOM_UTF8) :] if encoding == "utf-8-sig" else data
        headers, cells = split_csv_text(text, file, body if encoding != "gb18030" else None)
    elif suffix == ".parquet":
        headers, lazy_cells = _scan_parquet_cells(path, file)
        cells = _collect_parquet(lazy_cells, file)
    elif suffix == ".xlsx":
        if dataset.name in NO_FORMULA_DATASETS:
            refuse_formulas(data, file)
        headers, cells = read_xlsx_cells(data, file, dataset)
    else:
        raise ContractError(
            file, None, f"unsupported file type {suffix!r} (expected one of {FILE_SUFFIXES})"
        )
    source, frame = _conformed(path, dataset, headers, cells, sha256=sha256, encoding=encoding)
    return RawTable(**_source_fields(source), frame=frame)


def sink_raw_dataset(path: Path, dataset: Dataset, raw_path: Path) -> RawFile:
    """:func:`read_dataset`, written to ``raw_path`` as Parquet instead of returned.

    A parquet file is streamed from the source to ``raw_path`` (a province's register is
    20M rows: its text is never held whole); a CSV or Excel file (county-size exports) is
    read as :func:`read_dataset` reads it, then written. Raises ``ContractError`` as
    :func:`read_dataset` does.
    """
    path = Path(path)
    file = str(path)
    if path.suffix.lower() != ".parquet":
        table = read_dataset(path, dataset)
        table.frame.write_parquet(raw_path)
        return RawFile(**_source_fields(table), path=raw_path, rows=table.frame.height)
    try:
        with path.open("rb") as stream:
            sha256 = hashlib.file_digest(stream, "sha256").hexdigest()
    except OSError as exc:
        raise ContractError(file, None, f"cannot read file: {exc.strerror or exc}") from exc
    headers, cells = _scan_parquet_cells(path, file)
    source, frame = _conformed(path, dataset, headers, cells, sha256=sha256, encoding=None)
    try:
        frame.sink_parquet(raw_path)
    except pl.exceptions.PolarsError as exc:  # a page that cannot be decoded
        raise ContractError(file, None, f"unreadable parquet: {exc}") from None
    rows = pl.scan_parquet(raw_path).select(pl.len()).collect().item()
    return RawFile(**_source_fields(source), path=raw_path, rows=rows)


def _conformed(
    path: Path,
    dataset: Dataset,
    headers: list[str],
    cells: Frame,
    *,
    sha256: str,
    encoding: str | None,
) -> tuple[RawSource, Frame]:
    """``cells`` conformed to the contract (:func:`conform_to_contract`), and where they
    were read from: the one place a :class:`RawSource` is made."""
    frame, language = conform_to_contract(headers, cells, dataset, str(path))
    source = RawSource(
        dataset=dataset.name,
        file=path,
        sha256=sha256,
        encoding=encoding,
        header_language=language,
    )
    return source, frame


def _source_fields(source: RawSource) -> dict[str, object]:
    """The :class:`RawSource` fields of ``source``, by name: a table or a file read from
    it keeps them."""
    return {field.name: getattr(source, field.name) for field in fields(RawSource)}


# ---------------------------------------------------------------------------- parquet


def _scan_parquet_cells(path: Path, file: str) -> tuple[list[str], pl.LazyFrame]:
    """Every column of a parquet file as text, lazily (positional names ``c0, c1, ...``),
    with ``_row`` (1-based) and a null ``_malformed``."""
    try:
        schema = pl.read_parquet_schema(path)
    except Exception as exc:  # polars raises several kinds for a broken file
        raise ContractError(file, None, f"unreadable parquet: {exc}") from None
    headers = list(schema)
    cells = (
        pl.scan_parquet(path)
        .select(
            _parquet_value_as_text(pl.col(name), dtype, name, file).alias(f"c{i}")
            for i, (name, dtype) in enumerate(schema.items())
        )
        .with_row_index(ROW_COLUMN, offset=1)
        .with_columns(
            pl.col(ROW_COLUMN).cast(pl.Int64),
            pl.lit(None, dtype=pl.String).alias(MALFORMED_COLUMN),
        )
    )
    return headers, cells


def _collect_parquet(frame: pl.LazyFrame, file: str) -> pl.DataFrame:
    try:
        return frame.collect(engine="streaming")
    except pl.exceptions.PolarsError as exc:  # a page that cannot be decoded
        raise ContractError(file, None, f"unreadable parquet: {exc}") from None


def _parquet_value_as_text(col: pl.Expr, dtype: pl.DataType, name: str, file: str) -> pl.Expr:
    if dtype == pl.String:
        return col
    if dtype == pl.Null:
        return col.cast(pl.String)
    if dtype == pl.Date:
        return col.dt.strftime("%Y-%m-%d")
    if isinstance(dtype, pl.Datetime):
        at_midnight = (col.dt.hour() == 0) & (col.dt.minute() == 0) & (col.dt.second() == 0)
        return (
            pl.when(at_midnight)
            .then(col.dt.strftime("%Y-%m-%d"))
            .otherwise(col.dt.strftime("%Y-%m-%d %H:%M:%S"))
        )
    if dtype.is_float():
        # Shortest round-trip text (2093.5 -> '2093.5'); whole numbers without '.0'.
        return col.fill_nan(None).cast(pl.String).str.replace(r"\.0$", "")
    if dtype.is_integer() or dtype.is_decimal() or dtype in (pl.Boolean, pl.Categorical):
        return col.cast(pl.String)
    if isinstance(dtype, pl.Enum):
        return col.cast(pl.String)
    raise ContractError(file, name, f"unsupported parquet column type {dtype}")
