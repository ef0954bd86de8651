"""Pay periods: the python and polars sides count months with one index."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from sentinel.periods import (
    date_month_index,
    month_end,
    month_index,
    month_number,
    month_of,
    month_of_number,
    month_start,
    months_between,
    period_of_index,
    shift_month,
)

MONTHS = ["2019-12", "2020-01", "2020-02", "2020-12", "2024-02"]


def test_a_month_index_counts_months_since_year_zero() -> None:
    assert month_number("2020-12") == 2020 * 12 + 11
    assert month_number("2021-01") - month_number("2020-12") == 1


@pytest.mark.parametrize("month", MONTHS)
def test_the_python_and_polars_sides_agree_and_invert(month: str) -> None:
    frame = pl.DataFrame({"period": [month], "day": [month_start(month)]}).select(
        month_index(pl.col("period")).alias("from_text"),
        date_month_index(pl.col("day")).alias("from_date"),
        period_of_index(month_index(pl.col("period"))).alias("back"),
    )
    assert frame.row(0) == (month_number(month), month_number(month), month)
    assert month_of_number(month_number(month)) == month


def test_months_are_shifted_and_counted_across_years() -> None:
    assert shift_month("2020-11", 2) == "2021-01"
    assert shift_month("2020-01", -1) == "2019-12"
    assert shift_month("2020-06", -11) == "2019-07"
    assert months_between("2019-11", "2020-02") == 3
    assert months_between("2020-02", "2019-11") == -3


def test_a_month_starts_and_ends_on_its_calendar_days() -> None:
    assert month_start("2020-02") == date(2020, 2, 1)
    assert month_end("2020-02") == date(2020, 2, 29)
    assert month_end("2019-02") == date(2019, 2, 28)
    assert month_end("2020-12") == date(2020, 12, 31)
    assert month_of(date(2020, 12, 31)) == "2020-12"


def test_text_that_is_not_a_period_has_no_index() -> None:
    frame = pl.DataFrame({"period": ["abcd-ef", "2020", None]})
    indexes = frame.select(month_index(pl.col("period"))).to_series().to_list()
    assert indexes == [None, None, None]
