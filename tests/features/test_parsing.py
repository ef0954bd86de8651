import datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.parsing import (
    map_category,
    parse_amount,
    parse_amount_lenient,
    parse_date,
    parse_period,
    parse_period_lenient,
    typed_column,
)
from sentinel.contract import PAYOUTS, SCHEMES, SEXES


def _parsed(expr: pl.Expr, values: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame({"v": values}, schema={"v": pl.String}).select(expr)


#: What each parser gives: its dtype (a text it cannot read gives null).
DTYPES = {parse_date: pl.Date, parse_period: pl.String, parse_amount: pl.Float64}


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (parse_date, "2020-01-05", datetime.date(2020, 1, 5)),
        (parse_date, "2020/1/5", datetime.date(2020, 1, 5)),
        (parse_date, "2020-1-5", datetime.date(2020, 1, 5)),
        (parse_date, "2020.01.05", datetime.date(2020, 1, 5)),
        (parse_date, "20200105", datetime.date(2020, 1, 5)),
        (parse_date, "2020-01-05 00:00:00", datetime.date(2020, 1, 5)),
        (parse_date, "2020年1月5日", datetime.date(2020, 1, 5)),
        (parse_date, " 2020-01-05 ", datetime.date(2020, 1, 5)),
        (parse_date, "43835", datetime.date(2020, 1, 5)),  # Excel serial
        (parse_date, "43835.0", datetime.date(2020, 1, 5)),
        (parse_date, "1", datetime.date(1899, 12, 31)),
        (parse_date, "60000", datetime.date(2064, 4, 8)),
        (parse_date, "60001", None),  # beyond the serial range
        (parse_date, "2020", None),  # a year alone, not the serial of 1905-07-12
        (parse_date, "1950", None),
        (parse_date, "1950.0", None),
        (parse_date, "1799", datetime.date(1904, 12, 3)),  # no year of this domain: a serial
        (parse_date, "3653", datetime.date(1909, 12, 31)),
        (parse_date, "0", None),
        (parse_date, "2023-02-30", None),
        (parse_date, "2023-13-01", None),
        (parse_date, "0202-01-05", None),  # typo'd year
        (parse_date, "20200150", None),
        (parse_date, "2020-01", None),  # a period is not a date
        (parse_date, "05/01/2020", None),  # ambiguous day/month order is refused
        (parse_date, "yesterday", None),
        (parse_date, "", None),
        (parse_date, None, None),
        (parse_period, "2020-01", "2020-01"),
        (parse_period, "2020/01", "2020-01"),
        (parse_period, "202001", "2020-01"),
        (parse_period, "2020-1", "2020-01"),
        (parse_period, "2020.1", "2020-01"),
        (parse_period, "2020年1月", "2020-01"),
        (parse_period, "2020年12月", "2020-12"),
        (parse_period, "2020-01-01", "2020-01"),  # Excel turned a typed '2020-01' into a date
        (parse_period, "2020-01-01 00:00:00", "2020-01"),
        (parse_period, "2020-01-05", None),
        (parse_period, "2020-13", None),
        (parse_period, "2020-00", None),
        (parse_period, "20201", None),
        (parse_period, "2020", None),
        (parse_period, "abc", None),
        (parse_period, None, None),
        (parse_amount, "2093.50", 2093.5),
        (parse_amount, "2,093.50", 2093.5),
        (parse_amount, "¥2093.5", 2093.5),
        (parse_amount, "￥2,093.5", 2093.5),
        (parse_amount, "2093.5元", 2093.5),
        (parse_amount, "2093", 2093.0),
        (parse_amount, "-120.00", -120.0),
        (parse_amount, "1,234,567.891", 1234567.89),
        (parse_amount, " 12.5 ", 12.5),
        (parse_amount, "1,2O3.5", None),  # letter O for zero: never read as 123.5
        (parse_amount, "1,23.5", None),  # misplaced thousands comma
        (parse_amount, "12.5.1", None),
        (parse_amount, "1e3", None),
        (parse_amount, "元", None),
        (parse_amount, "", None),
        (parse_amount, None, None),
    ],
    ids=lambda value: value.__name__ if callable(value) else None,
)
def test_parse(parse, text, expected):
    result = _parsed(parse("v"), [text])
    assert_frame_equal(result, pl.DataFrame({"v": [expected]}, schema={"v": DTYPES[parse]}))


def test_map_category_accepts_both_languages_and_nulls_unknowns():
    result = _parsed(
        map_category("v", SCHEMES), ["企业职工", "resident", " 城乡居民 ", "农民", None]
    )
    expected = pl.DataFrame({"v": ["enterprise", "resident", "resident", None, None]})
    assert_frame_equal(result, expected)


def test_map_category_sex():
    result = _parsed(map_category("v", SEXES), ["男", "女", "m", "F", "x"])
    assert_frame_equal(result, pl.DataFrame({"v": ["M", "F", "M", "F", None]}))


def test_typed_column_types_each_kind():
    raw = pl.DataFrame(
        {
            "person_id": ["43092319500101123X"],
            "scheme": ["城乡居民"],
            "period": ["2020年1月"],
            "pay_date": ["2020/1/5"],
            "amount": ["¥2,093.50"],
            "bank_account": ["0062"],
            "kind": ["补发"],
        }
    )
    result = raw.select(typed_column(c) for c in PAYOUTS.columns)
    expected = pl.DataFrame(
        {
            "person_id": ["43092319500101123X"],
            "scheme": ["resident"],
            "period": ["2020-01"],
            "pay_date": [datetime.date(2020, 1, 5)],
            "amount": [2093.5],
            "bank_account": ["0062"],
            "kind": ["arrears"],
        }
    )
    assert_frame_equal(result, expected)


@pytest.mark.parametrize("parse", list(DTYPES))
def test_parsers_keep_the_column_name(parse):
    assert _parsed(parse("v"), ["x"]).columns == ["v"]


def test_parsers_work_lazily_on_expressions():
    frame = pl.LazyFrame({"raw": ["2020-01-05"]})
    result = frame.select(parse_date(pl.col("raw")).alias("d")).collect()
    assert result.item() == datetime.date(2020, 1, 5)


def test_a_payment_refused_by_the_strict_reading_is_still_read_leniently_for_the_ledger():
    frame = pl.DataFrame(
        {
            "amount": ["1,23.5", "１２３．５", "¥ 2,093.50 元", "RMB 88", "n/a", None],
            "period": ["2020/7", "2020年7月", "202007", "2020-07 补发", "2020-13", None],
        }
    )
    strict = frame.select(parse_amount(pl.col("amount"))).to_series().to_list()
    lenient = frame.select(
        parse_amount_lenient(pl.col("amount")).alias("amount"),
        parse_period_lenient(pl.col("period")).alias("period"),
    )
    assert strict[:2] == [None, None]
    assert lenient["amount"].to_list() == [123.5, 123.5, 2093.5, 88.0, None, None]
    assert lenient["period"].to_list() == ["2020-07", "2020-07", "2020-07", "2020-07", None, None]
