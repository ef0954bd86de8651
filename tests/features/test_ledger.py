"""The paid ledger summarised per person: runs give the ledger back row for row."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

sys.path.insert(0, str(Path(__file__).parent))  # the shared hand-made frames (importlib mode)
from detection_frames import (  # noqa: E402
    SPAN,
    _reasons,
    history,
    make_id,
    person,
    register_over,
    regular_payouts,
)

from features.ledger import (  # noqa: E402
    LEDGER_COLUMNS,
    extend_ledger_runs,
    ledger_rows,
    ledger_runs,
    ledger_runs_up_to,
    overlapping,
)
from features.payments import PAYOUT_KIND, ledger_keys, months_paid  # noqa: E402
from sentinel.periods import month_index, month_number  # noqa: E402

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


def test_rules_read_a_run_of_months_as_those_months_rows():
    """The rule families read the paid ledger summarised as runs (``features.ledger``): a
    run of twelve unchanged payments must count exactly as the twelve rows, whether a rule
    reads the run or expands it. Every rule on a ledger cut into one-row runs gives the
    same reasons as on its runs."""
    from dataclasses import replace

    from polars.testing import assert_frame_equal

    from features.ledger import ledger_runs
    from features.payments import paid_ledger

    old_standard = person(make_id("19500101", 11), "张三", "M", date(1950, 1, 1))
    jumped = person(make_id("19500202", 22), "赵四", "M", date(1950, 2, 2))
    twice = person(make_id("19500303", 33), "钱五", "M", date(1950, 3, 3))
    twice_ent = {**twice, "scheme": "enterprise"}
    gone = person(make_id("19300404", 44), "孙六", "M", date(1930, 4, 4))
    moved = person(make_id("19450505", 55), "李七", "F", date(1945, 5, 5))
    register = (
        register_over([old_standard, jumped, twice, twice_ent, moved], SPAN)
        .vstack(register_over([gone], SPAN[:6]))
        .vstack(register_over([{**gone, "status": "terminated"}], SPAN[6:]))
    )
    payouts = pl.concat(
        [
            # The old resident standard paid all year: below the floor from 2020-07 only.
            regular_payouts([old_standard], SPAN, amount=103.0),
            regular_payouts([jumped], SPAN[:8], amount=120.0),
            regular_payouts([jumped], SPAN[8:], amount=600.0),
            regular_payouts([twice], SPAN),
            regular_payouts([twice_ent], SPAN[4:9], amount=2000.0),
            regular_payouts([gone], SPAN),
            regular_payouts([moved], SPAN[:5]),
            regular_payouts([{**moved, "bank_account": "6217000055556666"}], SPAN[5:]),
        ]
    )
    h = history("2020-12", register, payouts)
    as_runs = _reasons(h)
    rows_ledger = paid_ledger(h.payouts, h.quarantined_payouts)
    one_row_runs = rows_ledger.with_columns(
        pl.col("kind").cast(pl.String), pl.lit(1, dtype=pl.Int32).alias("months")
    )
    as_rows = _reasons(replace(h, ledger_runs=one_row_runs))
    # The runs really are runs: far fewer than the rows.
    assert ledger_runs(rows_ledger).collect().height < rows_ledger.collect().height / 4
    order = ["person_id", "typology", "reason"]
    assert_frame_equal(as_runs.sort(order), as_rows.sort(order))
    assert {"AA_OFF_STANDARD", "AA_JUMP", "AA_PAID_WHILE_TERMINATED", "DR_TWO_SCHEMES"} <= set(
        as_runs["reason"].to_list()
    )
    off = as_runs.filter(pl.col("reason") == "AA_OFF_STANDARD").row(0, named=True)
    assert off["person_id"] == old_standard["person_id"] and off["facts"][1] == "6"  # Jul..Dec
