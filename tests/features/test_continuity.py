import polars as pl
from polars.testing import assert_frame_equal

from features.continuity import carry_case_status


def test_case_on_last_months_list_is_carried_with_its_first_month() -> None:
    cases = pl.LazyFrame({"case_id": ["DP-1", "DR-2"]})
    previous = pl.LazyFrame({"case_id": ["DP-1", "XX-9"], "first_flagged": ["2020-03", "2020-04"]})
    got = carry_case_status(cases, previous, month="2020-05").collect()
    want = pl.DataFrame(
        {"case_id": ["DP-1", "DR-2"], "first_flagged": ["2020-03", "2020-05"], "status": ["carried", "new"]}
    )
    assert_frame_equal(got, want)


def test_without_previous_list_every_case_is_new() -> None:
    cases = pl.LazyFrame({"case_id": ["A"]})
    previous = pl.LazyFrame(schema={"case_id": pl.String, "first_flagged": pl.String})
    got = carry_case_status(cases, previous, month="2020-01").collect()
    assert got["status"].to_list() == ["new"] and got["first_flagged"].to_list() == ["2020-01"]
