"""The month's field visits: the top of the list and a few random draws below the cut."""

from __future__ import annotations

import polars as pl
import pytest

from sentinel.selection import audit_selection


def ranked(n: int, reopened: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "case_id": [f"C{i:03d}" for i in range(n)],
            "priority_rank": list(range(1, n + 1)),
            "status": ["reopened"] * reopened + ["new"] * (n - reopened),
        }
    )


def test_priority_takes_the_top_and_exploration_draws_below_the_cut():
    got = audit_selection(ranked(100), capacity=20, exploration_share=0.1, month="2020-05")
    priority = got.filter(pl.col("audit_selection") == "priority")
    explored = got.filter(pl.col("audit_selection") == "exploration")
    assert priority["priority_rank"].to_list() == list(range(1, 19))
    assert explored.height == 2 and explored["priority_rank"].min() > 18
    assert explored["selection_probability"].to_list() == [pytest.approx(2 / 82)] * 2
    assert priority["selection_probability"].to_list() == [1.0] * 18
    assert got.filter(pl.col("audit_selection").is_null())["selection_probability"].null_count() == 80


def test_the_draw_is_the_same_when_a_month_is_run_again_and_differs_between_months():
    first = audit_selection(ranked(100), 20, 0.1, "2020-05")
    again = audit_selection(ranked(100), 20, 0.1, "2020-05")
    other = audit_selection(ranked(100), 20, 0.1, "2020-06")
    assert first.equals(again)
    drawn = pl.col("audit_selection") == "exploration"
    assert first.filter(drawn)["case_id"].to_list() != other.filter(drawn)["case_id"].to_list()


def test_reopened_cases_take_no_visit():
    got = audit_selection(ranked(10, reopened=2), capacity=5, exploration_share=0.0, month="2020-05")
    assert got.filter(pl.col("audit_selection") == "priority")["case_id"].to_list() == [
        "C002", "C003", "C004", "C005", "C006",
    ]


def test_cases_whose_pension_was_terminated_take_no_visit():
    cases = ranked(4).with_columns(
        pl.Series("pension_terminated", [False, True, None, False])
    )
    got = audit_selection(cases, capacity=2, exploration_share=0.0, month="2020-05")
    assert got.filter(pl.col("audit_selection") == "priority")["case_id"].to_list() == [
        "C000", "C002",
    ]


def test_a_short_list_is_visited_whole_without_draws():
    got = audit_selection(ranked(3), capacity=56, exploration_share=0.05, month="2020-05")
    assert got["audit_selection"].to_list() == ["priority"] * 3


@pytest.mark.parametrize(("capacity", "share"), [(-1, 0.05), (56, 1.5)])
def test_bad_settings_are_refused(capacity, share):
    with pytest.raises(ValueError, match="capacity"):
        audit_selection(ranked(3), capacity, share, "2020-05")
