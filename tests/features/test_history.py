from datetime import date

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from features.history import extend_register_runs, register_runs, run_months, runs_up_to
from sentinel.periods import month_index

MONTHS = ["2020-01", "2020-02", "2020-03", "2020-04", "2020-05"]


def _snapshots(rows: list[tuple[str, str, str, str, str]]) -> pl.LazyFrame:
    """(person_id, scheme, status, bank_account, month) rows of a tiny register."""
    return pl.LazyFrame(
        {
            "person_id": [r[0] for r in rows],
            "name": ["张三"] * len(rows),
            "birth_date": [date(1940, 1, 1)] * len(rows),
            "scheme": [r[1] for r in rows],
            "status": [r[2] for r in rows],
            "bank_account": [r[3] for r in rows],
            "month": [r[4] for r in rows],
        },
        schema_overrides={
            c: pl.String for c in ("person_id", "scheme", "status", "bank_account", "month")
        },
    )


def _sorted(frame: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    return df.select(sorted(df.columns)).sort(pl.all())


def test_runs_break_at_a_change_and_at_a_month_without_the_row() -> None:
    snaps = _snapshots(
        [
            ("P1", "resident", "active", "A", "2020-01"),
            ("P1", "resident", "active", "A", "2020-02"),
            ("P1", "resident", "active", "B", "2020-03"),  # new account
            ("P1", "resident", "active", "B", "2020-05"),  # not listed in April
            ("P2", "resident", "active", "C", "2020-01"),
            ("P2", "resident", "active", "C", "2020-01"),  # the same row twice: once
        ]
    )
    runs = register_runs(snaps).collect().sort("person_id", "first_index")
    assert runs.select("person_id", "bank_account", "first_index", "last_index").rows() == [
        ("P1", "A", 24240, 24241),
        ("P1", "B", 24242, 24242),
        ("P1", "B", 24244, 24244),
        ("P2", "C", 24240, 24240),
    ]


def test_two_rows_of_one_scheme_in_one_month_are_two_runs_side_by_side() -> None:
    snaps = _snapshots(
        [
            ("P1", "resident", "active", "A", "2020-01"),
            ("P1", "resident", "active", "A", "2020-02"),
            ("P1", "resident", "active", "X", "2020-02"),
        ]
    )
    runs = register_runs(snaps).collect().sort("bank_account")
    assert runs.select("bank_account", "first_index", "last_index").rows() == [
        ("A", 24240, 24241),
        ("X", 24241, 24241),
    ]


def test_runs_up_to_cuts_a_run_and_drops_later_ones() -> None:
    snaps = _snapshots([("P1", "resident", "active", "A", m) for m in MONTHS])
    snaps = pl.concat([snaps, _snapshots([("P2", "resident", "active", "B", "2020-04")])])
    got = runs_up_to(register_runs(snaps), "2020-02").collect()
    assert got.select("person_id", "first_index", "last_index").rows() == [("P1", 24240, 24241)]


def test_run_months_gives_back_the_distinct_snapshot_rows() -> None:
    snaps = _snapshots(
        [
            ("P1", "resident", "active", "A", "2020-01"),
            ("P1", "resident", "suspended", "A", "2020-02"),
            ("P1", "resident", "suspended", "A", "2020-03"),
            ("P1", "resident", "suspended", "A", "2020-03"),
        ]
    )
    back = run_months(register_runs(snaps))
    expected = snaps.unique().with_columns(month_index(pl.col("month")).alias("m")).drop("month")
    assert_frame_equal(_sorted(back), _sorted(expected))


def test_a_register_without_a_collector_column_still_summarises() -> None:
    runs = register_runs(_snapshots([("P1", "resident", "active", "A", "2020-01")])).collect()
    assert "collector_id" not in runs.columns and runs.height == 1


# A random register history: a few persons, two schemes, every column able to change or
# vanish from one month to the next, months left out, rows repeated or doubled.
_row = st.tuples(
    st.sampled_from(["P1", "P2", "P3"]),
    st.sampled_from(["resident", "enterprise"]),
    st.sampled_from(["active", "suspended", None]),
    st.sampled_from(["A", "B", None]),
    st.sampled_from(MONTHS),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_row, max_size=40))
def test_month_by_month_summary_equals_the_summary_of_all_snapshots(rows: list) -> None:
    snaps = _snapshots(rows).collect()
    months = sorted(snaps["month"].unique().to_list())
    runs: pl.LazyFrame | None = None
    for month in months:
        snapshot = snaps.lazy().filter(pl.col("month") == month)
        runs = (
            register_runs(snapshot) if runs is None else extend_register_runs(runs, snapshot, month)
        )
        runs = runs.collect().lazy()
        whole = register_runs(snaps.lazy().filter(pl.col("month") <= month))
        assert_frame_equal(_sorted(runs), _sorted(whole))
        # ...and the summary of a later month, cut back, is this month's.
        assert_frame_equal(_sorted(runs_up_to(register_runs(snaps.lazy()), month)), _sorted(whole))
    # Every distinct snapshot row comes back from the runs.
    expected = snaps.unique().with_columns(month_index(pl.col("month")).alias("m")).drop("month")
    if runs is not None:
        assert_frame_equal(_sorted(run_months(runs)), _sorted(expected))


@pytest.mark.parametrize("month", ["2020-02", "2020-04"])
def test_extending_from_a_later_summary_re_curates_the_month(month: str) -> None:
    snaps = _snapshots(
        [("P1", "resident", "active", "A", m) for m in MONTHS]
        + [("P2", "resident", "active", "B", m) for m in MONTHS[1:3]]
    )
    snapshot = snaps.filter(pl.col("month") == month)
    got = extend_register_runs(register_runs(snaps), snapshot, month)
    assert_frame_equal(_sorted(got), _sorted(register_runs(snaps.filter(pl.col("month") <= month))))
