"""How personal identifiers are masked wherever they leave the audit unit's own files.

The case list and workbook (for the audit unit) hold identity numbers, names and accounts
in full; everything else (logs, error messages, Prefect artifacts, list pages, and case
pages for the roles not in ``review.full_id_roles``) shows them through this module only:

* an identity number keeps its region code and its last four characters, as on printed
  notices: ``430923********123X`` (:func:`mask_id`);
* a bank account keeps its last four: ``*8804`` (:func:`mask_account`);
* a name keeps the surname: ``王**`` (:func:`short_name`);
* free text (an evidence sentence, a validation message) has every run of ten or more
  digits masked, as an identity number when it is one and as an account otherwise
  (:func:`mask_text`).
"""

from __future__ import annotations

import re

import polars as pl

__all__ = [
    "mask_account",
    "mask_account_expr",
    "mask_id",
    "mask_id_expr",
    "mask_text",
    "short_name",
]

_KEEP_HEAD = 6
_KEEP_TAIL = 4
#: An identity number's length (GB 11643: 18; the first generation: 15).
_ID_LENGTHS = (15, 18)
# Ten or more digits (an identity number may end in X): identity numbers, bank accounts,
# phone numbers. Amounts and dates in sentences are shorter and stay readable.
_LONG_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{9,}[0-9Xx]?(?![0-9A-Za-z])")


def mask_id(value: str | None) -> str | None:
    """An identity number for anyone but the audit unit: the first 6 and last 4 characters
    kept, the rest starred (``430923********123X``). A value of 10 characters or fewer is
    starred whole, so nothing short leaks; None stays None."""
    if value is None:
        return None
    if len(value) <= _KEEP_HEAD + _KEEP_TAIL:
        return "*" * len(value)
    return value[:_KEEP_HEAD] + "*" * (len(value) - _KEEP_HEAD - _KEEP_TAIL) + value[-_KEEP_TAIL:]


def mask_id_expr(col: str | pl.Expr) -> pl.Expr:
    """:func:`mask_id` of a text column, as a polars expression (nulls stay null)."""
    text = (pl.col(col) if isinstance(col, str) else col).cast(pl.String)
    length = text.str.len_chars()
    middle = text.str.slice(_KEEP_HEAD, length - _KEEP_HEAD - _KEEP_TAIL)
    return (
        pl.when(length <= _KEEP_HEAD + _KEEP_TAIL)
        .then(_starred(text))
        .otherwise(
            pl.concat_str(text.str.slice(0, _KEEP_HEAD), _starred(middle), text.str.tail(_KEEP_TAIL))
        )
        .name.keep()
    )


def mask_account(account: str | None) -> str | None:
    """A bank account or collector ID: its last four characters only (``*8804``)."""
    if account is None:
        return None
    return "*" + account[-_KEEP_TAIL:] if len(account) > _KEEP_TAIL else "*" * len(account)


def mask_account_expr(col: str | pl.Expr) -> pl.Expr:
    """:func:`mask_account` of a text column, as a polars expression (nulls stay null)."""
    text = (pl.col(col) if isinstance(col, str) else col).cast(pl.String)
    return (
        pl.when(text.str.len_chars() <= _KEEP_TAIL)
        .then(_starred(text))
        .otherwise(pl.concat_str(pl.lit("*"), text.str.tail(_KEEP_TAIL)))
        .name.keep()
    )


def _starred(text: pl.Expr) -> pl.Expr:
    """Every character of the text a star."""
    return text.str.replace_all(r"(?s).", "*")


def short_name(name: str | None) -> str | None:
    """A name for a list page or an artifact: the surname and two stars (``王**``)."""
    if not name:
        return name
    return name[:1] + "**"


def mask_text(text: str | None) -> str:
    """Free text with every number of ten or more digits masked: an identity number by
    :func:`mask_id`, any other (an account, a phone number) by :func:`mask_account`."""
    if not text:
        return ""

    def masked(found: re.Match[str]) -> str:
        number = found.group(0)
        shown = mask_id(number) if len(number) in _ID_LENGTHS else mask_account(number)
        return shown or ""

    return _LONG_NUMBER.sub(masked, text)
