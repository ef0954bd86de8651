"""Checks on Chinese citizen identity numbers (GB 11643-1999) as polars expressions.

An identity number is 18 characters: a 6-digit region code (where the number was first
issued), the 8-digit birth date ``YYYYMMDD``, a 3-digit sequence whose last digit is odd
for men and even for women, and a check character computed with ISO 7064 MOD 11-2.

Every function takes a column name or expression holding text and returns an expression;
nothing here evaluates data. A lowercase check character ``x`` is accepted as ``X``.
"""

from __future__ import annotations

import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import OSA

__all__ = [
    "ID_CHECK_CHARS",
    "ID_WEIGHTS",
    "ID_WELL_FORMED",
    "id_birth_date",
    "id_edits",
    "id_check_char",
    "id_checksum_ok",
    "id_is_well_formed",
    "id_region",
    "id_sex",
]

#: GB 11643-1999: the weights of the first 17 digits, the check character of each
#: remainder mod 11, and the shape of a well-formed number.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
ID_WELL_FORMED = r"^[0-9]{17}[0-9X]$"


def _text(col: str | pl.Expr) -> pl.Expr:
    expr = pl.col(col) if isinstance(col, str) else col
    return expr.str.to_uppercase()


def id_is_well_formed(col: str | pl.Expr) -> pl.Expr:
    """True when the value is 17 digits followed by a digit or ``X`` (null stays null).

    Says nothing about the checksum or the birth date.
    """
    return _text(col).str.contains(ID_WELL_FORMED)


def id_check_char(col: str | pl.Expr) -> pl.Expr:
    """The MOD 11-2 check character due for the first 17 digits (null if not 17 digits).

    Accepts either the 17-digit prefix or a full 18-character number.
    """
    text = _text(col)
    prefix = text.str.slice(0, 17)
    total = pl.sum_horizontal(
        prefix.str.slice(i, 1).cast(pl.Int32, strict=False) * weight
        for i, weight in enumerate(ID_WEIGHTS)
    )
    check = (total % 11).replace_strict(
        {i: c for i, c in enumerate(ID_CHECK_CHARS)}, return_dtype=pl.String
    )
    return pl.when(prefix.str.contains(r"^[0-9]{17}$")).then(check).otherwise(None).name.keep()


def id_checksum_ok(col: str | pl.Expr) -> pl.Expr:
    """True when the number is well formed and its 18th character is the MOD 11-2 check.

    False for malformed values, null for null.
    """
    text = _text(col)
    return (id_is_well_formed(text) & (text.str.slice(17, 1) == id_check_char(text))).name.keep()


def id_birth_date(col: str | pl.Expr) -> pl.Expr:
    """Birth date from digits 7–14 as ``pl.Date``; null when those are not a real date.

    Only the 8 characters are examined (the rest may be malformed); a year 0000 is not a
    date. The date can lie in the future: judging plausibility is the caller's business.
    """
    digits = _text(col).str.slice(6, 8)
    date = digits.str.to_date("%Y%m%d", strict=False)
    return (
        pl.when(digits.str.contains(r"^[0-9]{8}$") & (digits.str.slice(0, 4) != "0000"))
        .then(date)
        .otherwise(None)
        .name.keep()
    )


def id_sex(col: str | pl.Expr) -> pl.Expr:
    """'M' when the 17th digit is odd, 'F' when even; null when the number is malformed."""
    digit = _text(col).str.slice(16, 1).cast(pl.Int32, strict=False)
    sex = pl.when(digit % 2 == 1).then(pl.lit("M")).otherwise(pl.lit("F"))
    return pl.when(id_is_well_formed(col)).then(sex).otherwise(None).name.keep()


def id_region(col: str | pl.Expr) -> pl.Expr:
    """The 6-digit administrative region code the number was issued under (null if malformed).

    Region codes are text: county codes are compared with ``region_code`` as text.
    """
    region = _text(col).str.slice(0, 6)
    return pl.when(id_is_well_formed(col)).then(region).otherwise(None).name.keep()


def id_edits(a: str | pl.Expr, b: str | pl.Expr) -> pl.Expr:
    """Edits between two identity numbers (optimal string alignment: a lost, added or
    changed character, or two adjacent characters swapped, counts one), by rapidfuzz; null
    when either is null."""

    def distances(pair: pl.Series) -> pl.Series:
        frame = pair.struct.unnest()
        present = frame.with_row_index("_i").drop_nulls()
        out = pl.Series([None] * frame.height, dtype=pl.Int32)
        if present.height:
            values = process.cpdist(present["a"].to_list(), present["b"].to_list(), scorer=OSA.distance)
            out = out.scatter(present["_i"], pl.Series(values, dtype=pl.Int32))
        return out

    return pl.struct(_text(a).alias("a"), _text(b).alias("b")).map_batches(
        distances, return_dtype=pl.Int32
    )
