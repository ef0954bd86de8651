"""The paid ledger summarised per person: runs give the ledger back row for row."""

from __future__ import annotations

from datetime import date

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from features.cases import month_index, month_number
from features.ledger import (
    LEDGER_COLUMNS,
    extend_ledger_runs,
    ledger_rows,
    ledger_runs,
    ledger_runs_up_to,
    overlapping,
)
from features.payments import PAYOUT_KIND, ledger_keys, months_paid

MONTHS = ["2020-01", "2020-02", "2020-03", "2020-04", "2020-05", "2020-06"]


def _ledger(rows: list[tuple]) -> pl.LazyFrame:
    """(person_id, scheme, period, drop month, pay day, amount, account, kind, quarantined)."""
    frame = pl.DataFrame(
        rows,
        orient="row",
        schema={
            "person_id": pl.String,
            "scheme": pl.String,
            "period": pl.String,
            "month": pl.String,
            "pay_day": pl.Int32,
            "amount": pl.Float64,
            "bank_account": pl.String,
            "kind": pl.String,
            "quarantined": pl.Boolean,
        },
    )
    drop = month_index(pl.col("month"))
    return frame.lazy().select(
        "person_id",
        "scheme",
        "period",
        month_index(pl.col("period")).alias("period_index"),
        drop.alias("drop_index"),
        pl.when(pl.col("pay_day").is_not_null())
        .then(pl.date(drop // 12, drop % 12 + 1, pl.col("pay_day")))
        .alias("pay_date"),
        "amount",
        "bank_account",
        pl.col("kind").cast(PAYOUT_KIND),
        "quarantined",
        pl.when(pl.col("quarantined"))
        .then(pl.lit("amount unparseable"))
        .alias("quarantine_reason"),
    )


def _rows(frame: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    return df.select(LEDGER_COLUMNS).sort(pl.all(), nulls_last=True)


def _regular(person: str, period: str, amount: float = 113.0, account: str = "A", day: int = 10):
    return (person, "resident", period, period, day, amount, account, "regular", False)


def test_a_year_unchanged_is_one_run_and_a_change_starts_another() -> None:
    ledger = _ledger(
        [_regular("P1", m) for m in MONTHS[:3]]
        + [_regular("P1", m, amount=123.0) for m in MONTHS[3:]]
        + [_regular("P2", "2020-01"), _regular("P2", "2020-03")]  # February not paid
    )
    runs = ledger_runs(ledger).collect().sort("person_id", "period_index")
    assert runs.select("person_id", "period", "amount", "months").rows() == [
        ("P1", "2020-01", 113.0, 3),
        ("P1", "2020-04", 123.0, 3),
        ("P2", "2020-01", 113.0, 1),
        ("P2", "2020-03", 113.0, 1),
    ]
    assert_frame_equal(_rows(ledger_rows(runs.lazy())), _rows(ledger))


def test_irregular_rows_stay_rows() -> None:
    ledger = _ledger(
        [
            _regular("P1", "2020-01"),
            ("P1", "resident", "2020-01", "2020-02", 10, 113.0, "A", "regular", False),  # twice
            _regular("P1", "2020-02"),
            ("P1", "resident", "2019-12", "2020-02", 10, 113.0, "A", "arrears", False),
            ("P1", "resident", "2020-03", "2020-03", 10, 113.0, "A", "regular", True),
            ("P2", "resident", "2020-01", "2020-01", 31, 113.0, "A", "regular", False),
            ("P2", "resident", "2020-02", "2020-02", 29, 113.0, "A", "regular", False),
        ]
    )
    runs = ledger_runs(ledger).collect()
    # P1's first January row and February row are one run; the rest are rows of their own.
    assert sorted(runs["months"].to_list()) == [1, 1, 1, 1, 1, 2]
    assert_frame_equal(_rows(ledger_rows(runs.lazy())), _rows(ledger))


_row = st.tuples(
    st.sampled_from(["P1", "P2", "P3"]),
    st.sampled_from(["resident", "enterprise", None]),
    st.sampled_from([*MONTHS[:4], None]),
    st.sampled_from(MONTHS),
    st.sampled_from([5, 15, 28, 29, None]),  # 2020 is a leap year: every month has a 29th
    st.sampled_from([113.0, 2345.67, None]),
    st.sampled_from(["A", "B", None]),
    st.sampled_from(["regular", "regular", "arrears"]),
    st.booleans(),
)


def _paid_in_order(rows: list[tuple]) -> list[tuple]:
    """A regular row is paid in its period's drop or later (a late payment)."""
    return [
        r if r[7] != "regular" or r[2] is None or r[3] >= r[2] else (*r[:3], r[2], *r[4:])
        for r in rows
    ]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_row, max_size=40))
def test_runs_built_at_once_or_month_by_month_give_the_ledger_back(rows: list[tuple]) -> None:
    ledger = _ledger(_paid_in_order(rows)).collect()
    at_once = ledger_runs(ledger.lazy())
    assert_frame_equal(_rows(ledger_rows(at_once)), _rows(ledger))
    runs: pl.LazyFrame | None = None
    for month in MONTHS:
        drop = ledger.lazy().filter(pl.col("drop_index") == month_number(month))
        runs = ledger_runs(drop) if runs is None else extend_ledger_runs(runs, drop, month)
        runs = runs.collect().lazy()
        upto = ledger.filter(pl.col("drop_index") <= month_number(month))
        assert_frame_equal(_rows(ledger_rows(runs)), _rows(upto))
        # Cut back to an earlier month, the runs give that month's ledger.
        earlier = min(month, "2020-02")
        assert_frame_equal(
            _rows(ledger_rows(ledger_runs_up_to(runs, earlier))),
            _rows(ledger.filter(pl.col("drop_index") <= month_number(earlier))),
        )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_row, max_size=40))
def test_overlap_and_months_paid_agree_with_the_rows(rows: list[tuple]) -> None:
    ledger = _ledger(_paid_in_order(rows)).collect()
    runs = ledger_runs(ledger.lazy()).with_columns(ledger_keys())
    keyed = runs.collect()
    shared = set(
        keyed.join(overlapping(runs).collect(), on="payee", how="semi")["person_id"].to_list()
    )
    twice = ledger.filter(pl.col("period_index").is_not_null()).filter(
        pl.len().over("person_id", "period_index") > 1
    )
    assert shared == set(twice["person_id"].to_list())
    expected = ledger.group_by("person_id").agg(
        pl.col("period_index").n_unique().cast(pl.UInt32).alias("months_paid")
    )
    assert_frame_equal(months_paid(runs).collect().sort("person_id"), expected.sort("person_id"))


def test_pay_dates_move_with_the_period() -> None:
    ledger = _ledger([_regular("P1", m, day=28) for m in MONTHS])
    runs = ledger_runs(ledger).collect()
    assert runs.height == 1
    dates = ledger_rows(runs.lazy()).collect().sort("period_index")["pay_date"].to_list()
    assert dates[1] == date(2020, 2, 28) and dates[-1] == date(2020, 6, 28)
