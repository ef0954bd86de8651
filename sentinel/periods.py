"""Pay periods and months: ``YYYY-MM`` text, and a month index to count them with.

A month index counts months since year 0 (``2020-12`` → 24251), so that the months
between two periods, or a period shifted by some months, are integer arithmetic. The
python functions serve a month named on the command line or in a drop; the polars
expressions serve a column of periods or dates. Both sides use the one index.
"""

from __future__ import annotations

from datetime import date

import polars as pl


def month_number(month: str) -> int:
    """Month index of a ``YYYY-MM`` string."""
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_of_number(index: int) -> str:
    """``YYYY-MM`` of a month index (inverse of :func:`month_number`)."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def shift_month(month: str, months: int) -> str:
    """``month`` moved by ``months`` (negative: back)."""
    return month_of_number(month_number(month) + months)


def months_between(earlier: str, later: str) -> int:
    """Whole months from ``earlier`` to ``later`` (negative when ``later`` comes first)."""
    return month_number(later) - month_number(earlier)


def month_of(day: date) -> str:
    """``YYYY-MM`` of a date."""
    return f"{day.year:04d}-{day.month:02d}"


def month_start(month: str) -> date:
    """First calendar day of ``YYYY-MM``."""
    return date(int(month[:4]), int(month[5:7]), 1)


def month_end(month: str) -> date:
    """Last calendar day of ``YYYY-MM``."""
    return date.fromordinal(month_start(shift_month(month, 1)).toordinal() - 1)


def month_index(period: pl.Expr) -> pl.Expr:
    """Month index of a ``YYYY-MM`` text column; null where the text is not a period."""
    return period.str.slice(0, 4).cast(pl.Int32, strict=False) * 12 + (
        period.str.slice(5, 2).cast(pl.Int32, strict=False) - 1
    )


def date_month_index(day: pl.Expr) -> pl.Expr:
    """Month index of a date column."""
    return day.dt.year().cast(pl.Int32) * 12 + day.dt.month().cast(pl.Int32) - 1


def period_of_index(index: pl.Expr) -> pl.Expr:
    """``YYYY-MM`` text of a month index column (inverse of :func:`month_index`)."""
    # concat_str, not pl.format: polars 2.1 panics in pl.format on some filtered frames of
    # many chunks (a partition's runs with its halo persons' runs appended).
    return pl.concat_str(
        (index // 12).cast(pl.String),
        pl.lit("-"),
        ((index % 12) + 1).cast(pl.String).str.pad_start(2, "0"),
    )
