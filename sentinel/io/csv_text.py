"""A CSV file's bytes as text columns: decoded without guessing (UTF-8, UTF-8 with BOM or
GB18030), then split into the header and positional text columns ``c0, c1, ...`` with
``_row`` and ``_malformed`` (rows whose field count differs from the header's are kept and
described, never lost).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from typing import TYPE_CHECKING

import polars as pl

from sentinel.contract import ContractError
from sentinel.io.conform import MALFORMED_COLUMN, ROW_COLUMN

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

# A CSV that fails UTF-8 is still read as (corrupted) UTF-8 when at most one in this many
# of its non-ASCII bytes is invalid UTF-8 (GB18030 Chinese text measures about one in three).
_UTF8_INVALID_SHARE = 20
_ENCODING_SAMPLE_BYTES = 1 << 20
# CJK punctuation, ideographs and full-width forms: what Chinese UTF-8 text is made of.
_CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def decode_csv_bytes(data: bytes, file: str) -> tuple[str, str]:
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


def split_csv_text(
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
    try:
        body = pl.read_csv(
            utf8_bytes if utf8_bytes is not None else text.encode("utf-8"),
            has_header=False,
            schema={f"c{i}": pl.String for i in range(width)},
            truncate_ragged_lines=True,
            missing_columns="insert",
            raise_if_empty=False,
        )
    except pl.exceptions.ComputeError:
        # A quote polars will not read ('"2"x'): the standard library reads it leniently.
        return _split_csv_records(text, file)
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
    """Exact but slower CSV split (standard library), for quoted multi-line fields.

    A quote opened and never closed would swallow every line after it into one field
    (or overflow the parser): that stops the run, naming the line and the column where the
    quote opens. A record joined over several lines whose field count is wrong says which
    lines it joined, so a pair of stray quotes cannot hide rows in a quarantined cell.
    """
    try:
        return _split_records(csv.reader(io.StringIO(text, newline=""), strict=True), file)
    except csv.Error as exc:
        if "expected after" in str(exc):
            # Text after a closing quote ('"2"x'): read leniently, as spreadsheets do.
            return _split_records(csv.reader(io.StringIO(text, newline="")), file)
        raise _unclosed_quote(text, file, exc) from None


def _unclosed_quote(text: str, file: str, exc: csv.Error) -> ContractError:
    """The error for a quote that is never closed: where it opens (line and column)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    headers: list[str] = []
    begun = last = 0  # lines read before the current record, and before the last one
    while True:
        begun = reader.line_num
        try:
            record = next(reader)
        except StopIteration:
            begun = last  # leniently read, the open quote's record runs to the end
            break
        except csv.Error:
            break  # the field overflowed: its record began after ``begun`` lines
        headers = headers or record
        last = begun
    lines = text.splitlines()
    line = lines[begun] if begun < len(lines) else ""
    opened = next(csv.reader([line]), [""])
    column = headers[len(opened) - 1] if 0 < len(opened) <= len(headers) else None
    return ContractError(
        file,
        column,
        f"line {begun + 1}: a quote opens here and is never closed, so every line after it "
        f"would be read as one value ({exc}); close or remove the quote",
    )


def _split_records(records: CsvReader, file: str) -> tuple[list[str], pl.DataFrame]:
    """Header and text columns of parsed CSV ``records``."""
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
    notes: list[str | None] = []
    last_line = records.line_num
    for number, record in enumerate(records, start=1):
        first_line, last_line = last_line + 1, records.line_num
        if _is_blank(record):
            continue
        padded = (record + [None] * width)[:width] if len(record) != width else record
        for column, value in zip(columns, padded, strict=True):
            column.append(value)
        row_numbers.append(number)
        counts.append(len(record))
        note = [f"extra fields: {','.join(record[width:])}"] if len(record) > width else []
        if len(record) != width and last_line > first_line:
            note.append(f"lines {first_line}-{last_line} joined by a quoted field")
        notes.append("; ".join(note) or None)
    cells = (
        pl.DataFrame(
            {f"c{i}": pl.Series(values, dtype=pl.String) for i, values in enumerate(columns)}
        )
        .with_columns(
            pl.Series(ROW_COLUMN, row_numbers, dtype=pl.Int64),
            _malformed_message(pl.Series("n", counts, dtype=pl.Int64), width),
            pl.Series("_note", notes, dtype=pl.String),
        )
        .with_columns(
            pl.when(pl.col("_note").is_not_null())
            .then(pl.format("{}; {}", pl.col(MALFORMED_COLUMN), pl.col("_note")))
            .otherwise(pl.col(MALFORMED_COLUMN))
            .alias(MALFORMED_COLUMN)
        )
        .drop("_note")
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
