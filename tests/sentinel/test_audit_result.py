"""Audit result values: one pydantic model for the workbook, the drop and the web form."""

from __future__ import annotations

from datetime import date

import pytest

from sentinel.audit_result import OutcomeLimits, result_problems

LIMITS = OutcomeLimits(max_amount=2_000_000.0, max_age=120)
TODAY = date(2020, 3, 15)
GOOD = {
    "outcome": "confirmed_deceased",
    "closed_on": date(2020, 2, 10),
    "death_date": date(2019, 11, 3),
    "overpaid_amount": 1200.0,
    "recovered_amount": 400.5,
}


def problems(birth: date | None = date(1950, 1, 1), **changes: object) -> list[tuple[str, str]]:
    return result_problems(
        GOOD | changes, first_listed=date(2020, 1, 1), birth_date=birth, today=TODAY, limits=LIMITS
    )


def test_a_plausible_result_has_no_problem() -> None:
    assert problems() == []
    assert problems(outcome="确认死亡") == []


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        # Regression (issue 18): 1e308 was accepted and the dashboard showed inf.
        (
            {"overpaid_amount": 1e308, "recovered_amount": None},
            "overpaid_amount",
            "is not below 2,000,000 yuan",
        ),
        ({"recovered_amount": 2_000_000.0}, "recovered_amount", "is not below"),
        ({"overpaid_amount": float("inf")}, "overpaid_amount", "inf is not an amount"),
        ({"overpaid_amount": float("nan")}, "overpaid_amount", "nan is not an amount"),
        ({"overpaid_amount": -0.01}, "overpaid_amount", "is negative"),
        # Regression (issue 18): a death date of 0001-01-01 was accepted.
        ({"death_date": date(1, 1, 1)}, "death_date", "before the person's birth (1950-01-01)"),
        (
            {"death_date": date(2020, 3, 16), "closed_on": date(2020, 3, 15)},
            "death_date",
            "in the future",
        ),
        ({"closed_on": date(2020, 3, 16)}, "closed_on", "in the future"),
        ({"closed_on": "2020-02-10"}, "closed_on", "'2020-02-10' is not a date"),
        ({"overpaid_amount": "lots"}, "overpaid_amount", "'lots' is not an amount"),
    ],
)
def test_implausible_values_are_named_with_their_field(
    changes: dict[str, object], field: str, problem: str
) -> None:
    found = problems(**changes)
    assert [f for f, _ in found] == [field], found
    assert problem in found[0][1]


def test_without_a_birth_date_a_death_is_within_the_plausible_age() -> None:
    assert problems(birth=None, death_date=date(1901, 1, 1)) == []
    [(field, problem)] = problems(birth=None, death_date=date(1899, 12, 31))
    assert field == "death_date" and "more than 120 years ago" in problem


def test_every_problem_of_a_row_is_reported_in_field_order() -> None:
    found = problems(
        outcome="maybe", closed_on=date(2021, 1, 1), overpaid_amount=-1.0, recovered_amount=5e9
    )
    assert [f for f, _ in found] == ["outcome", "closed_on", "overpaid_amount", "recovered_amount"]
