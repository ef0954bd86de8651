"""Field-visit plans (features.visits): every case within capacity planned once, day trips
within the visit limit, one stop per person, trips by expected yuan, deterministic."""

from __future__ import annotations

import random

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from features.visits import VISIT_PLAN_COLUMNS, visit_plan, visit_plan_summary

CASE_SCHEMA = {
    "case_id": pl.String,
    "person_id": pl.String,
    "name": pl.String,
    "township": pl.String,
    "village": pl.String,
    "typology": pl.String,
    "priority_rank": pl.Int64,
    "risk_score": pl.Float64,
    "amount_at_stake": pl.Float64,
    "evidence": pl.String,
    "audit_selection": pl.String,
}


def case(
    rank: int,
    township: str | None = "梅城镇",
    village: str | None = "北溪村",
    *,
    person: str | None = None,
    risk: float = 0.5,
    amount: float = 1000.0,
    selection: str | None = "priority",
    typology: str = "suspected_unreported_death",
) -> dict[str, object]:
    """A case of a generated person (the rank names the person unless ``person`` is given)."""
    person = person or f"P{rank:03d}"
    return {
        "case_id": f"C{rank:03d}",
        "person_id": person,
        "name": f"测试{person}",
        "township": township,
        "village": village,
        "typology": typology,
        "priority_rank": rank,
        "risk_score": risk,
        "amount_at_stake": amount,
        "evidence": f"evidence of C{rank:03d}",
        "audit_selection": selection,
    }


def plan_of(rows: list[dict[str, object]], max_visits: int = 6, **options: bool) -> pl.DataFrame:
    cases = pl.DataFrame(rows, schema=CASE_SCHEMA).lazy()
    return visit_plan(cases, max_visits, **options).collect()


def planned_cases(plan: pl.DataFrame) -> list[str]:
    return plan["case_ids"].str.split(", ").explode().to_list()


def test_every_case_within_capacity_is_planned_exactly_once() -> None:
    rows = [
        case(1, "梅城镇", "北溪村"),
        case(2, "梅城镇", "桃桥村", selection="exploration"),
        case(3, "仙溪镇", "黄源村"),
        case(4, "仙溪镇", "黄源村", selection=None),
        case(5, "仙溪镇", None),
    ]
    plan = plan_of(rows)
    assert sorted(planned_cases(plan)) == ["C001", "C002", "C003", "C005"]
    assert plan.columns == list(VISIT_PLAN_COLUMNS)


@pytest.mark.parametrize("max_visits", [1, 2, 3, 6])
def test_no_trip_holds_more_than_max_visits(max_visits: int) -> None:
    rows = [case(r, "仙溪镇", f"村{r % 3}") for r in range(1, 15)] + [case(20, "梅城镇", "北溪村")]
    plan = plan_of(rows, max_visits)
    per_trip = plan.group_by("trip").agg(pl.len(), pl.col("trip_stops").first())
    assert per_trip["len"].max() <= max_visits
    assert (per_trip["len"] == per_trip["trip_stops"]).all()
    assert sorted(plan["trip"].unique()) == list(range(1, plan["trip"].n_unique() + 1))


def test_a_person_with_two_cases_is_one_stop() -> None:
    rows = [
        case(1, person="P9", risk=0.9, amount=1000.0, typology="deceased_paid"),
        case(4, person="P9", risk=0.5, amount=4000.0, typology="shared_account"),
        case(2),
    ]
    plan = plan_of(rows)
    stop = plan.filter(pl.col("person_id") == "P9").row(0, named=True)
    assert plan.height == 2
    assert stop["case_ids"] == "C001, C004"
    assert stop["typology"] == "deceased_paid, shared_account"
    assert stop["priority_rank"] == 1
    assert stop["evidence"] == "evidence of C001; evidence of C004"
    # The larger of the two: each case's amount at stake counts the same pension.
    assert stop["expected_yuan"] == pytest.approx(2000.0)


def test_expected_yuan_is_risk_times_amount_at_stake_and_trips_sum_their_stops() -> None:
    rows = [case(1, risk=0.25, amount=800.0), case(2, risk=0.5, amount=None)]  # type: ignore[arg-type]
    plan = plan_of(rows)
    assert plan["expected_yuan"].to_list() == [200.0, 0.0]
    assert plan["trip_expected_yuan"].to_list() == [200.0, 200.0]


def test_trips_are_ordered_by_expected_yuan_per_trip() -> None:
    rows = [
        case(1, "仙溪镇", "黄源村", risk=0.9, amount=100.0),  # the best rank, a poor trip
        case(2, "梅城镇", "北溪村", risk=0.5, amount=3000.0),
        case(3, "梅城镇", "北溪村", risk=0.5, amount=3000.0),
        case(4, "田庄乡", "小坡村", risk=0.2, amount=2000.0),
    ]
    plan = plan_of(rows)
    trips = plan.unique("trip").sort("trip")
    assert trips["township"].to_list() == ["梅城镇", "田庄乡", "仙溪镇"]
    assert trips["trip_expected_yuan"].to_list() == [3000.0, 400.0, 90.0]


def test_a_village_larger_than_a_day_is_cut_by_priority() -> None:
    rows = [case(r, "仙溪镇", "黄源村", risk=0.1 * r) for r in range(1, 6)]
    plan = plan_of(rows, 2)
    by_trip = plan.group_by("trip").agg(pl.col("priority_rank").sort()).sort("priority_rank")
    assert by_trip["priority_rank"].to_list() == [[1, 2], [3, 4], [5]]


def test_small_villages_of_one_township_share_a_trip_other_townships_never() -> None:
    rows = [
        case(1, "仙溪镇", "黄源村"),
        case(2, "仙溪镇", "白坳村"),
        case(3, "仙溪镇", "白坳村"),
        case(4, "梅城镇", "北溪村"),
    ]
    plan = plan_of(rows, 3)
    trips = plan.unique("trip").sort("trip")
    assert sorted(trips["trip_villages"].to_list()) == ["北溪村", "黄源村、白坳村"]
    assert plan.group_by("trip").agg(pl.col("township").n_unique())["township"].max() == 1


def test_a_village_that_does_not_fit_is_never_split_over_trips() -> None:
    rows = [case(1, "仙溪镇", "黄源村", amount=9000.0)] + [
        case(r, "仙溪镇", "白坳村") for r in (2, 3)
    ]
    plan = plan_of(rows, 2)
    villages_per_trip = plan.group_by("trip").agg(pl.col("village").unique())
    assert sorted(sorted(v) for v in villages_per_trip["village"].to_list()) == [
        ["白坳村"],
        ["黄源村"],
    ]


def test_without_combining_each_village_has_trips_of_its_own() -> None:
    rows = [case(1, "仙溪镇", "黄源村"), case(2, "仙溪镇", "白坳村")]
    plan = plan_of(rows, 6, combine_villages=False)
    assert plan["trip"].to_list() == [1, 2]
    assert plan["trip_villages"].to_list() == ["黄源村", "白坳村"]


def test_stops_go_village_by_village_then_by_priority() -> None:
    rows = [
        case(1, "仙溪镇", "黄源村", amount=100.0),
        case(2, "仙溪镇", "白坳村", amount=9000.0),
        case(3, "仙溪镇", "黄源村", amount=100.0),
        case(4, "仙溪镇", "白坳村", amount=100.0),
    ]
    plan = plan_of(rows)
    assert plan["trip"].unique().to_list() == [1]
    assert plan["stop"].to_list() == [1, 2, 3, 4]
    assert plan["priority_rank"].to_list() == [1, 3, 2, 4]
    assert plan["trip_villages"][0] == "黄源村、白坳村"


def test_a_case_without_village_goes_in_a_trip_of_its_township_marked_so() -> None:
    rows = [case(1, "仙溪镇", "黄源村"), case(2, "仙溪镇", None), case(3, "仙溪镇", None)]
    plan = plan_of(rows)
    unplaced = plan.filter(pl.col("village").is_null())
    assert unplaced["case_ids"].to_list() == ["C002", "C003"]
    assert unplaced["trip"].n_unique() == 1
    assert unplaced["trip_villages"].to_list() == [None, None]
    assert unplaced["township"].to_list() == ["仙溪镇", "仙溪镇"]
    assert unplaced["address"].to_list() == ["仙溪镇", "仙溪镇"]
    # Never mixed with a village's stops.
    assert plan.filter(pl.col("village") == "黄源村")["trip"][0] not in unplaced["trip"]


def test_a_case_without_township_gets_a_trip_of_its_own_without_address() -> None:
    plan = plan_of([case(1, None, None), case(2, "仙溪镇", "黄源村")])
    unknown = plan.filter(pl.col("township").is_null()).row(0, named=True)
    assert unknown["address"] is None and unknown["trip_villages"] is None
    assert plan["trip"].n_unique() == 2


def test_the_address_is_township_and_village_as_the_register_holds_them() -> None:
    plan = plan_of([case(1, "仙溪镇", "黄源村")])
    assert plan["address"].to_list() == ["仙溪镇黄源村"]


def test_the_same_cases_in_any_order_give_the_same_plan() -> None:
    rows = [
        case(r, random.Random(r).choice(["仙溪镇", "梅城镇", None]), f"村{r % 4}", amount=500.0)
        for r in range(1, 30)
    ] + [case(40, "梅城镇", None, person="P001"), case(41, "仙溪镇", "村1", amount=500.0)]
    first = plan_of(rows, 3)
    for seed in range(5):
        shuffled = rows.copy()
        random.Random(seed).shuffle(shuffled)
        assert_frame_equal(plan_of(shuffled, 3), first)


def test_an_empty_list_gives_an_empty_plan() -> None:
    plan = plan_of([case(1, selection=None)])
    assert plan.height == 0 and plan.columns == list(VISIT_PLAN_COLUMNS)


def test_max_visits_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_visits must be at least 1"):
        visit_plan(pl.DataFrame([case(1)], schema=CASE_SCHEMA).lazy(), 0)


def test_the_summary_counts_trips_stops_cases_and_yuan_per_township() -> None:
    rows = [
        case(1, "梅城镇", "北溪村", person="P1", risk=1.0, amount=100.0),
        case(2, "梅城镇", "北溪村", person="P1", risk=1.0, amount=50.0),
        case(3, "梅城镇", "桃桥村", risk=1.0, amount=10.0),
        case(4, "仙溪镇", "黄源村", risk=1.0, amount=1.0),
    ]
    summary = visit_plan_summary(plan_of(rows, 1).lazy()).collect()
    assert summary.to_dicts() == [
        {"township": "梅城镇", "trips": 2, "stops": 2, "cases": 3, "expected_yuan": 110.0},
        {"township": "仙溪镇", "trips": 1, "stops": 1, "cases": 1, "expected_yuan": 1.0},
    ]


_cases = st.lists(
    st.tuples(
        st.sampled_from(["仙溪镇", "梅城镇", None]),
        st.sampled_from(["黄源村", "白坳村", "北溪村", None]),
        st.integers(0, 9),  # person
        st.floats(0, 1),
        st.floats(0, 20_000),
        st.sampled_from(["priority", "exploration", None]),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(rows=_cases, max_visits=st.integers(1, 7), combine=st.booleans())
def test_any_case_list_is_planned_whole_within_the_limit(
    rows: list[tuple], max_visits: int, combine: bool
) -> None:
    # One person lives in one place: the register's township and village of the person.
    home = {person: (township, village) for township, village, person, *_ in rows}
    cases = [
        case(k, *home[person], person=f"P{person}", risk=risk, amount=amount, selection=sel)
        for k, (_, _, person, risk, amount, sel) in enumerate(rows, start=1)
    ]
    plan = plan_of(cases, max_visits, combine_villages=combine)
    within = [c["case_id"] for c in cases if c["audit_selection"] is not None]
    assert sorted(planned_cases(plan)) == sorted(within)
    assert plan["person_id"].is_unique().all()
    trips = (
        plan.group_by("trip")
        .agg(pl.len(), pl.col("township").n_unique(), pl.col("trip_expected_yuan").first())
        .sort("trip")
    )
    assert (trips["len"] <= max_visits).all()
    assert (trips["township"] <= 1).all()
    yuan = trips["trip_expected_yuan"].to_list()
    assert yuan == sorted(yuan, reverse=True)
