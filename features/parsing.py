"""Typed parsing of raw text columns as polars expressions.

Readers hand over every value as stripped text; these expressions turn that text into
dates, payout periods, amounts and canonical category values. Each returns null for a
value it cannot parse: deciding whether a null means quarantine is the caller's business.
All are vectorised string operations (no Python callbacks).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from sentinel.contract import Column

__all__ = [
    "map_category",
    "parse_amount",
    "parse_amount_lenient",
    "parse_date",
    "parse_period",
    "parse_period_lenient",
    "typed_column",
]

# Plausible calendar years for this domain (births of pensioners to payouts); a year
# outside is a typo ('0202-01-05'), not a date.
_MIN_YEAR = 1800
_MAX_YEAR = 2199
# Excel serial day numbers, counted from 1899-12-30 (Excel's 1900 leap-year bug makes
# that the epoch for every serial after February 1900). 60000 is the year 2064.
_EXCEL_EPOCH = pl.date(1899, 12, 30)
_EXCEL_SERIAL_MIN = 1
_EXCEL_SERIAL_MAX = 60000
# A bare four-digit number within the plausible years is a date cut down to its year
# ('2020', '1950'), not a serial: serials 1800-2199 fall in 1904-1906, before the birth of
# anyone a pension centre pays, so reading them as dates would only hide the clerk's error.
_YEAR_ONLY = r"^\d{4}(?:\.0+)?$"

_SEPARATED_DATE = (
    r"^(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_CHINESE_DATE = r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$"
_COMPACT_DATE = r"^(\d{4})(\d{2})(\d{2})$"
_EXCEL_SERIAL = r"^\d{1,5}(?:\.\d+)?$"

_PERIOD_SEPARATED = r"^(\d{4})\s*[-/.]\s*(\d{1,2})$"
_PERIOD_COMPACT = r"^(\d{4})(\d{2})$"
_PERIOD_CHINESE = r"^(\d{4})\s*年\s*(\d{1,2})\s*月?$"
# An Excel cell typed '2020-01' becomes the date 2020-01-01.
_PERIOD_FIRST_OF_MONTH = r"^(\d{4})-(\d{2})-01(?: 00:00:00)?$"

# Optional sign, optional yuan sign, digits with correctly placed thousands commas or
# none, optional decimals, optional trailing 元.
_AMOUNT = (
    r"^(?P<sign>[+-]?)\s*[¥￥]?\s*(?P<number>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)"
    r"\s*元?$"
)


def _expr(col: str | pl.Expr) -> pl.Expr:
    expr = pl.col(col) if isinstance(col, str) else col
    return expr.cast(pl.String).str.strip_chars()


def _ymd_to_date(text: pl.Expr, pattern: str) -> pl.Expr:
    year = text.str.extract(pattern, 1)
    month = text.str.extract(pattern, 2).str.zfill(2)
    day = text.str.extract(pattern, 3).str.zfill(2)
    iso = pl.concat_str(year, pl.lit("-"), month, pl.lit("-"), day)
    return iso.str.to_date("%Y-%m-%d", strict=False)


def parse_date(col: str | pl.Expr) -> pl.Expr:
    """Parse a calendar date to ``pl.Date``; null for anything else.

    Accepts '2020-01-05', '2020/1/5', '2020-1-5', '2020.1.5', '20200105',
    '2020年1月5日', a trailing time ('2020-01-05 00:00:00', dropped) and Excel serial
    day numbers ('43835' or '43835.0'; 1–60000, epoch 1899-12-30, any fraction of a day
    dropped). Years outside 1800–2199, impossible days (2023-02-30) and a bare year
    ('2020': a date cut down to its year, not serial 2020) give null.
    """
    text = _expr(col)
    serial = text.cast(pl.Float64, strict=False).floor().cast(pl.Int64, strict=False)
    year_only = text.str.contains(_YEAR_ONLY) & serial.is_between(_MIN_YEAR, _MAX_YEAR)
    from_serial = pl.when(
        text.str.contains(_EXCEL_SERIAL)
        & serial.is_between(_EXCEL_SERIAL_MIN, _EXCEL_SERIAL_MAX)
        & ~year_only
    ).then(_EXCEL_EPOCH + pl.duration(days=serial))
    date = pl.coalesce(
        _ymd_to_date(text, _SEPARATED_DATE),
        _ymd_to_date(text, _CHINESE_DATE),
        _ymd_to_date(text, _COMPACT_DATE),
        from_serial.cast(pl.Date),
    )
    return pl.when(date.dt.year().is_between(_MIN_YEAR, _MAX_YEAR)).then(date).otherwise(None)


def parse_period(col: str | pl.Expr) -> pl.Expr:
    """Parse a payout period to canonical 'YYYY-MM' text; null if invalid.

    Accepts 'YYYY-MM', 'YYYY-M', 'YYYY/MM', 'YYYY.MM', 'YYYYMM', '2020年1月' and the
    first of a month as a date ('2020-01-01', what Excel makes of a typed '2020-01').
    Months outside 1–12 and years outside 1800–2199 give null.
    """
    text = _expr(col)
    patterns = (_PERIOD_SEPARATED, _PERIOD_COMPACT, _PERIOD_CHINESE, _PERIOD_FIRST_OF_MONTH)
    year = pl.coalesce(*(text.str.extract(p, 1) for p in patterns))
    month = pl.coalesce(*(text.str.extract(p, 2) for p in patterns))
    year_number = year.cast(pl.Int32, strict=False)
    month_number = month.cast(pl.Int32, strict=False)
    valid = year_number.is_between(_MIN_YEAR, _MAX_YEAR) & month_number.is_between(1, 12)
    return (
        pl.when(valid)
        .then(pl.concat_str(year, pl.lit("-"), month_number.cast(pl.String).str.zfill(2)))
        .otherwise(None)
    )


def parse_amount(col: str | pl.Expr) -> pl.Expr:
    """Parse a yuan amount to Float64 rounded to 2 decimals (fen); null if unparseable.

    Accepts '2093.50', '2,093.50', '¥2093.5', '￥2093.5', '2093.5元' and a leading sign
    ('-120.00' for adjustments). Thousands commas must be correctly placed and every
    character accounted for: '1,2O3.5' and '1,23.5' are null, never a misread number.
    """
    text = _expr(col)
    parts = text.str.extract_groups(_AMOUNT)
    number = parts.struct.field("number").str.replace_all(",", "", literal=True)
    signed = pl.concat_str(parts.struct.field("sign"), number)
    return signed.cast(pl.Float64, strict=False).round(2).name.keep()


# Full-width digits and punctuation, as an input method types them.
_FULLWIDTH = {chr(0xFF10 + d): str(d) for d in range(10)} | {"．": ".", "，": ","}


def parse_amount_lenient(text: pl.Expr) -> pl.Expr:
    """Yuan from the amount text of a payment quarantined but still made: tolerant of
    ``¥``, ``元``, misplaced thousands separators and full-width digits.

    The strict :func:`parse_amount` decides what is loaded; a row it refused was still
    paid, and its ledger entry reads what it can. Null when nothing numeric is left (the
    payment is then counted, its amount unknown).
    """
    cleaned = (
        text.cast(pl.String)
        .str.replace_many(list(_FULLWIDTH), list(_FULLWIDTH.values()))
        .str.replace_all(r"[,\s¥￥元RMBrmb]", "")
    )
    return cleaned.str.extract(r"^(-?\d+(?:\.\d+)?)$", 1).cast(pl.Float64, strict=False)


def parse_period_lenient(text: pl.Expr) -> pl.Expr:
    """``YYYY-MM`` from the period text of a payment quarantined but still made
    (``2020-07``, ``202007``, ``2020/7``, ``2020年7月``, and text after them)."""
    year = text.str.extract(r"^\s*(\d{4})\D?(\d{1,2})", 1)
    mon = text.str.extract(r"^\s*(\d{4})\D?(\d{1,2})", 2)
    ok = mon.cast(pl.Int32, strict=False).is_between(1, 12)
    return pl.when(ok).then(pl.format("{}-{}", year, mon.str.pad_start(2, "0")))


def map_category(col: str | pl.Expr, values: Mapping[str, str]) -> pl.Expr:
    """Map a raw category value (English or Chinese spelling) to its canonical value.

    ``values`` is one of the contract's value maps (e.g. ``SCHEMES``); a value not in it
    gives null.
    """
    return _expr(col).replace_strict(dict(values), default=None, return_dtype=pl.String)


def typed_column(column: Column) -> pl.Expr:
    """The parsing expression a contract column's kind calls for, named after the column.

    'id' and 'text' stay text; 'date' → :func:`parse_date`; 'period' →
    :func:`parse_period`; 'amount' → :func:`parse_amount`; 'category' →
    :func:`map_category` with the column's value map.
    """
    name = column.name
    if column.kind == "date":
        expr = parse_date(name)
    elif column.kind == "period":
        expr = parse_period(name)
    elif column.kind == "amount":
        expr = parse_amount(name)
    elif column.kind == "category":
        expr = map_category(name, column.values or {})
    else:
        expr = pl.col(name)
    return expr.alias(name)
