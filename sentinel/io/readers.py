"""Read one dataset file of a monthly drop into an all-text frame.

The reader decides nothing about meaning: it finds the file, decodes it without guessing,
maps headers (English or Chinese) to the contract's canonical column names and hands back
every value as stripped text. Typing values and mapping categories happen in
``features.parsing``; deciding what to quarantine happens downstream.

Every problem that makes a file untrustworthy raises :class:`sentinel.contract.ContractError`
naming the file, the column (or ``None``) and the problem.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import fastexcel
import polars as pl

from sentinel.contract import FILE_SUFFIXES, ContractError, Dataset

__all__ = [
    "FormulaCell",
    "RawFile",
    "RawTable",
    "find_dataset_file",
    "formula_cells",
    "read_dataset",
    "sink_raw_dataset",
]

HeaderLanguage = Literal["en", "zh", "mixed"]
Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

ROW_COLUMN = "_row"
MALFORMED_COLUMN = "_malformed"

# Columns holding identity numbers: text exactly as typed, except a lowercase check 'x'.
_ID_LIKE_COLUMNS = frozenset({"person_id", "collector_id"})
# How far down an Excel sheet to look for the header row (exports often start with a title).
_XLSX_HEADER_SEARCH_ROWS = 10
# A CSV that fails UTF-8 is still read as (corrupted) UTF-8 when at most one in this many
# of its non-ASCII bytes is invalid UTF-8 (GB18030 Chinese text measures about one in three).
_UTF8_INVALID_SHARE = 20
_ENCODING_SAMPLE_BYTES = 1 << 20
# CJK punctuation, ideographs and full-width forms: what Chinese UTF-8 text is made of.
_CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


@dataclass(frozen=True)
class RawTable:
    """One dataset file read as text.

    ``frame`` holds every column as ``pl.String``: the contract columns under their
    canonical names in contract order (absent optional columns all-null), then unknown
    extra columns under their original header, then ``_row`` (Int64, 1-based data row
    number in the file, counting from the first row under the header) and ``_malformed``
    (null unless the row could not be split into the header's fields).
    ``encoding`` is ``None`` for parquet and xlsx.
    """

    dataset: str
    file: Path
    sha256: str
    encoding: str | None
    header_language: HeaderLanguage
    frame: pl.DataFrame


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
        text, encoding = _decode_csv_bytes(data, file)
        body = data[len(codecs.BOM_UTF8) :] if encoding == "utf-8-sig" else data
        headers, cells = _split_csv_text(text, file, body if encoding != "gb18030" else None)
    elif suffix == ".parquet":
        headers, lazy_cells = _scan_parquet_cells(path, file)
        cells = _collect_parquet(lazy_cells, file)
    elif suffix == ".xlsx":
        if dataset.name in _NO_FORMULA_DATASETS:
            _refuse_formulas(data, file)
        headers, cells = _read_xlsx_cells(data, file, dataset)
    else:
        raise ContractError(
            file, None, f"unsupported file type {suffix!r} (expected one of {FILE_SUFFIXES})"
        )
    frame, language = _conform_to_contract(headers, cells, dataset, file)
    return RawTable(
        dataset=dataset.name,
        file=path,
        sha256=sha256,
        encoding=encoding,
        header_language=language,
        frame=frame,
    )


@dataclass(frozen=True)
class FormulaCell:
    """A workbook cell holding a formula: sheet title, row and column as Excel shows them,
    and the column's header (first row) when it has one."""

    sheet: str
    row: int
    column: str
    header: str | None

    def where(self) -> str:
        """``sheet 梅城镇, row 5, column 核查结果 (N)`` for an error message."""
        named = f"{self.header} ({self.column})" if self.header else self.column
        return f"sheet {self.sheet}, row {self.row}, column {named}"


#: Datasets whose xlsx cells are typed by people (audit outcomes, recovery steps): a
#: formula there is refused, since its cached value may be stale, forged, or missing.
_NO_FORMULA_DATASETS = frozenset({"outcomes", "recoveries"})


def formula_cells(source: Path | bytes, *, first_sheet_only: bool = False) -> list[FormulaCell]:
    """Every cell of an xlsx workbook that holds a formula, in sheet and row order.

    The workbook is read for its formulas, not their cached values: a formula saved
    without a value (written by a script, never recalculated) is found as well as one
    whose cached value was edited by hand.
    """
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    handle = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
    book = load_workbook(handle, read_only=True, data_only=False)
    found: list[FormulaCell] = []
    try:
        for sheet in book.worksheets[:1] if first_sheet_only else book.worksheets:
            header: tuple[object, ...] = ()
            for number, row in enumerate(sheet.iter_rows(), start=1):
                if number == 1:
                    header = tuple(getattr(c, "value", None) for c in row)
                for j, cell in enumerate(row):
                    if getattr(cell, "data_type", None) != "f":
                        continue
                    title = header[j] if j < len(header) else None
                    found.append(
                        FormulaCell(
                            sheet=sheet.title,
                            row=number,
                            column=get_column_letter(j + 1),
                            header=str(title).strip() if title is not None else None,
                        )
                    )
    finally:
        book.close()
    return found


def _refuse_formulas(data: bytes, file: str) -> None:
    try:
        formulas = formula_cells(data, first_sheet_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and its own errors alike
        raise ContractError(file, None, f"unreadable xlsx: {exc}") from None
    if formulas:
        first = formulas[0]
        more = f" (and {len(formulas) - 1} more)" if len(formulas) > 1 else ""
        raise ContractError(
            file,
            first.header,
            f"{first.where()} holds a formula{more}; formulas are not accepted, "
            "type the value itself",
        )


@dataclass(frozen=True)
class RawFile:
    """One dataset file stored as its all-text Parquet copy (the :class:`RawTable` frame,
    on disk at ``path``); ``rows`` is its row count."""

    dataset: str
    file: Path
    sha256: str
    encoding: str | None
    header_language: HeaderLanguage
    path: Path
    rows: int


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
        return RawFile(
            dataset=dataset.name,
            file=path,
            sha256=table.sha256,
            encoding=table.encoding,
            header_language=table.header_language,
            path=raw_path,
            rows=table.frame.height,
        )
    try:
        with path.open("rb") as source:
            sha256 = hashlib.file_digest(source, "sha256").hexdigest()
    except OSError as exc:
        raise ContractError(file, None, f"cannot read file: {exc.strerror or exc}") from exc
    headers, cells = _scan_parquet_cells(path, file)
    frame, language = _conform_to_contract(headers, cells, dataset, file)
    try:
        frame.sink_parquet(raw_path)
    except pl.exceptions.PolarsError as exc:  # a page that cannot be decoded
        raise ContractError(file, None, f"unreadable parquet: {exc}") from None
    rows = pl.scan_parquet(raw_path).select(pl.len()).collect().item()
    return RawFile(
        dataset=dataset.name,
        file=path,
        sha256=sha256,
        encoding=None,
        header_language=language,
        path=raw_path,
        rows=rows,
    )


# --------------------------------------------------------------------------- decoding


def _decode_csv_bytes(data: bytes, file: str) -> tuple[str, str]:
    """Decode CSV bytes as UTF-8 (with or without BOM) or GB18030, never by a silent guess."""
    if data.startswith(codecs.BOM_UTF8):
        bom = len(codecs.BOM_UTF8)
        try:
            return data[bom:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise ContractError(
                file, None, f"corrupted UTF-8: undecodable bytes at offset {exc.start + bom}"
            ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_offset = exc.start
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        gb_offset = exc.start
    else:
        # Judge on a window from the start to well past the first bad byte: the share of
        # invalid bytes is the same and the whole file would cost two more full decodes.
        if _is_mostly_utf8(data[: utf8_offset + _ENCODING_SAMPLE_BYTES]):
            raise ContractError(
                file, None, f"corrupted UTF-8: undecodable bytes at offset {utf8_offset}"
            )
        return text, "gb18030"
    gb_invalid = data.decode("gb18030", errors="replace").count("\ufffd")
    if _is_mostly_utf8(data) or _invalid_utf8_bytes(data) < gb_invalid:
        raise ContractError(
            file, None, f"corrupted UTF-8: undecodable bytes at offset {utf8_offset}"
        )
    raise ContractError(
        file, None, f"undecodable bytes at offset {gb_offset} (not UTF-8 nor GB18030)"
    )


def _invalid_utf8_bytes(data: bytes) -> int:
    return len(data) - len(data.decode("utf-8", errors="ignore").encode("utf-8"))


def _is_mostly_utf8(data: bytes) -> bool:
    """True when the bytes are overwhelmingly valid UTF-8 Chinese, with a few bad bytes.

    UTF-8 Chinese text with a damaged byte often still "decodes" as GB18030 into mojibake.
    GB18030 Chinese text is valid UTF-8 only by accident, and then almost never as CJK
    characters (3-byte sequences), while roughly a third of its non-ASCII bytes are
    invalid UTF-8.
    """
    decoded = data.decode("utf-8", errors="ignore")
    invalid = len(data) - len(decoded.encode("utf-8"))
    cjk_bytes = 3 * len(_CJK.findall(decoded))
    return invalid * _UTF8_INVALID_SHARE <= cjk_bytes


# ------------------------------------------------------------------------ CSV splitting


def _split_csv_text(
    text: str, file: str, utf8_bytes: bytes | None = None
) -> tuple[list[str], pl.DataFrame]:
    """Split CSV text into header names and positional text columns ``c0..``.

    Fast path: count each line's fields with vectorised string ops, then let polars parse.
    Quoted fields spanning lines fall back to the standard-library parser. Blank lines are
    skipped but still counted in ``_row``.
    """
    if not text or text.isspace():
        raise ContractError(file, None, "empty file: no header row")
    if "\n" not in text and "\r" in text:
        # Classic Mac line endings ("CSV (Macintosh)" from older Excel).
        text, utf8_bytes = text.replace("\r", "\n"), None
    lines = pl.Series("line", [text]).str.split("\n").explode()
    if text.endswith("\n"):
        lines = lines.head(len(lines) - 1)
    unquoted = lines
    if '"' in text:
        # Quoted fields may hold commas; drop them before counting. An odd quote left over
        # means a quoted field continues on the next line.
        unquoted = lines.str.replace_all(r'"[^"]*"', "")
        if unquoted.str.contains('"', literal=True).any():
            return _split_csv_records(text, file)
    field_counts = unquoted.str.count_matches(",", literal=True).cast(pl.Int64) + 1
    blank = lines.str.strip_chars() == ""
    first = int(blank.arg_min() or 0)  # blank lines above the header are tolerated
    header_count = int(field_counts[first])
    width = max(header_count, int(field_counts.max() or 0))
    body = pl.read_csv(
        utf8_bytes if utf8_bytes is not None else text.encode("utf-8"),
        has_header=False,
        schema={f"c{i}": pl.String for i in range(width)},
        truncate_ragged_lines=True,
        missing_columns="insert",
        raise_if_empty=False,
    )
    if body.height != len(lines):
        # Polars and the line split disagree (e.g. a stray carriage return): trust the
        # slower, exact parser rather than misalign rows.
        return _split_csv_records(text, file)
    body = body.slice(first)
    headers = [v if v is not None else "" for v in body.row(0)[:header_count]]
    rows = body.slice(1)
    counts = field_counts.slice(first + 1)
    blank = blank.slice(first + 1)
    overflow = [f"c{i}" for i in range(header_count, width)]
    cells = (
        rows.with_columns(
            pl.int_range(1, rows.height + 1, dtype=pl.Int64).alias(ROW_COLUMN),
            _malformed_message(counts.alias("n"), header_count),
        )
        .with_columns(_keep_overflow(overflow))
        .select([*(f"c{i}" for i in range(header_count)), ROW_COLUMN, MALFORMED_COLUMN])
        .filter(~blank)
    )
    return headers, cells


def _keep_overflow(overflow: list[str]) -> pl.Expr:
    """Fields beyond the header go into the malformed message, so no value is lost."""
    if not overflow:
        return pl.col(MALFORMED_COLUMN)
    extra = pl.concat_str([pl.col(c).fill_null("") for c in overflow], separator=",")
    return (
        pl.when(pl.col(MALFORMED_COLUMN).is_not_null() & pl.col(overflow[0]).is_not_null())
        .then(pl.format("{}; extra fields: {}", pl.col(MALFORMED_COLUMN), extra))
        .otherwise(pl.col(MALFORMED_COLUMN))
        .alias(MALFORMED_COLUMN)
    )


def _split_csv_records(text: str, file: str) -> tuple[list[str], pl.DataFrame]:
    """Exact but slower CSV split (standard library), for quoted multi-line fields."""
    records = iter(csv.reader(io.StringIO(text, newline="")))
    headers: list[str] | None = None
    for record in records:
        if not _is_blank(record):
            headers = record
            break
    if headers is None:
        raise ContractError(file, None, "empty file: no header row")
    width = len(headers)
    columns: list[list[str | None]] = [[] for _ in range(width)]
    row_numbers: list[int] = []
    counts: list[int] = []
    extras: list[str | None] = []
    for number, record in enumerate(records, start=1):
        if _is_blank(record):
            continue
        padded = (record + [None] * width)[:width] if len(record) != width else record
        for column, value in zip(columns, padded, strict=True):
            column.append(value)
        row_numbers.append(number)
        counts.append(len(record))
        extras.append(",".join(record[width:]) if len(record) > width else None)
    cells = (
        pl.DataFrame(
            {f"c{i}": pl.Series(values, dtype=pl.String) for i, values in enumerate(columns)}
        )
        .with_columns(
            pl.Series(ROW_COLUMN, row_numbers, dtype=pl.Int64),
            _malformed_message(pl.Series("n", counts, dtype=pl.Int64), width),
            pl.Series("_overflow", extras, dtype=pl.String),
        )
        .with_columns(
            pl.when(pl.col("_overflow").is_not_null())
            .then(pl.format("{}; extra fields: {}", pl.col(MALFORMED_COLUMN), pl.col("_overflow")))
            .otherwise(pl.col(MALFORMED_COLUMN))
            .alias(MALFORMED_COLUMN)
        )
        .drop("_overflow")
    )
    return headers, cells


def _is_blank(record: list[str]) -> bool:
    return len(record) == 0 or (len(record) == 1 and not record[0].strip())


def _malformed_message(field_counts: pl.Series, expected: int) -> pl.Expr:
    return (
        pl.when(pl.lit(field_counts) != expected)
        .then(
            pl.format(
                "malformed row: {} fields, expected {}", pl.lit(field_counts), pl.lit(expected)
            )
        )
        .otherwise(None)
        .cast(pl.String)
        .alias(MALFORMED_COLUMN)
    )


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


# ------------------------------------------------------------------------------- xlsx


def _read_xlsx_cells(data: bytes, file: str, dataset: Dataset) -> tuple[list[str], pl.DataFrame]:
    """First sheet, every cell as text; the header is the first row naming contract columns."""
    try:
        sheet = (
            fastexcel.read_excel(data).load_sheet(0, header_row=None, dtypes="string").to_polars()
        )
    except Exception as exc:  # fastexcel raises its own error classes
        raise ContractError(file, None, f"unreadable xlsx: {exc}") from None
    if sheet.height == 0:
        raise ContractError(file, None, "empty sheet: no header row")
    sheet = sheet.rename({name: f"c{i}" for i, name in enumerate(sheet.columns)})
    aliases = dataset.header_aliases()
    header_at = 0
    for i, row in enumerate(sheet.head(_XLSX_HEADER_SEARCH_ROWS).iter_rows()):
        if any(_clean_header(v) in aliases for v in row if v is not None):
            header_at = i
            break
    headers = [_clean_header(v) if v is not None else "" for v in sheet.row(header_at)]
    rows = sheet.slice(header_at + 1)
    # Date cells come out as 'YYYY-MM-DD 00:00:00'; a date is all the contract wants.
    cells = (
        rows.with_columns(pl.all().str.replace(r"^(\d{4}-\d{2}-\d{2}) 00:00:00$", "${1}"))
        .with_columns(
            pl.int_range(1, rows.height + 1, dtype=pl.Int64).alias(ROW_COLUMN),
            pl.lit(None, dtype=pl.String).alias(MALFORMED_COLUMN),
        )
        .filter(~pl.all_horizontal(pl.col(rows.columns).is_null()))
    )
    return headers, cells


# ---------------------------------------------------------------------- the contract


def _clean_header(name: object) -> str:
    return str(name).replace("\ufeff", "").strip()


def _conform_to_contract(
    headers: list[str], cells: Frame, dataset: Dataset, file: str
) -> tuple[Frame, HeaderLanguage]:
    """Rename positional columns to canonical names, clean values, check the header
    (a lazy ``cells`` gives a lazy frame: a province file is conformed while streamed)."""
    aliases = dataset.header_aliases()
    lowered = {c.name.lower(): c.name for c in dataset.columns}
    canonical_source: dict[str, str] = {}
    extras: dict[str, str] = {}
    renames: dict[str, str] = {}
    languages: set[str] = set()
    for i, raw in enumerate(headers):
        header = _clean_header(raw)
        position = f"c{i}"
        name = aliases.get(header) or lowered.get(header.lower())
        if name is not None:
            if name in canonical_source:
                raise ContractError(
                    file,
                    name,
                    f"two headers map to the same column: {canonical_source[name]!r} and {header!r}",
                )
            canonical_source[name] = header
            languages.add("en" if header.lower() == name else "zh")
            renames[position] = name
            continue
        if header == "":
            blank = (
                cells.lazy()
                .select(pl.col(position).str.strip_chars().replace("", None).is_null().all())
                .collect()
                .item()
            )
            if blank:
                continue  # a trailing separator in the export, not a column
            header = f"unnamed_{i + 1}"
        if header in extras:
            raise ContractError(file, header, "duplicate header")
        extras[header] = position
        renames[position] = header
    missing = [c.name for c in dataset.columns if c.required and c.name not in canonical_source]
    if missing:
        column = dataset.column(missing[0])
        accepted = ", ".join([column.name, *column.aliases])
        more = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
        raise ContractError(
            file, column.name, f"required column missing (accepted headers: {accepted}){more}"
        )
    language: HeaderLanguage = (
        "mixed" if len(languages) != 1 else ("en" if "en" in languages else "zh")
    )

    def cleaned(name: str) -> pl.Expr:
        # (An empty text becomes null by its length, and only IDs ending in a lower-case x
        # meet the regular expression: on a province's 20M rows each costs seconds.)
        stripped = pl.col(name).str.strip_chars()
        value = pl.when(stripped.str.len_bytes() > 0).then(stripped)
        if name in _ID_LIKE_COLUMNS or (
            name in canonical_source and dataset.column(name).kind == "id"
        ):
            value = (
                pl.when(value.str.ends_with("x"))
                .then(value.str.replace(r"^(\d{17})x$", "${1}X"))
                .otherwise(value)
            )
        return value.alias(name)

    frame = cells.rename(renames).select(
        *(
            cleaned(c.name)
            if c.name in canonical_source
            else pl.lit(None, dtype=pl.String).alias(c.name)
            for c in dataset.columns
        ),
        *(cleaned(name) for name in extras),
        pl.col(ROW_COLUMN).cast(pl.Int64),
        pl.col(MALFORMED_COLUMN).cast(pl.String),
    )
    # A row of bare separators (",,,,," left by spreadsheet exports) carries nothing.
    values = [*canonical_source, *extras]
    empty = pl.all_horizontal(pl.col(values).is_null()) & pl.col(MALFORMED_COLUMN).is_null()
    return frame.filter(~empty), language
