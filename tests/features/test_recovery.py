"""The recovery ledger as pure polars: accounts, ageing buckets at their bounds, the ladder
and the recovery rate."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.recovery import (
    AGEING_BUCKETS,
    LEDGER_COLUMNS,
    RECOVERY_EVENT_SCHEMA,
    SUMMARY_COLUMNS,
    ageing_bucket,
    recovery_accounts,
    summarise_recoveries,
)

CLOSED = date(2020, 3, 1)


def cases(**overrides: list) -> pl.LazyFrame:
    columns = {
        "case_id": ["C1", "C2"],
        "person_id": ["p1", "p2"],
        "township": ["城关镇", "梅城镇"],
        "typology": ["deceased_paid", "duplicate_receipt"],
        "outcome": ["confirmed_deceased", "confirmed_improper"],
        "closed_on": [CLOSED, CLOSED],
        "overpaid_amount": [1000.0, 400.0],
        "recovered_amount": [None, 100.0],
    } | overrides
    return pl.DataFrame(columns, schema_overrides={"recovered_amount": pl.Float64}).lazy()


def events(*rows: dict) -> pl.LazyFrame:
    base = {k: None for k in RECOVERY_EVENT_SCHEMA}
    return pl.DataFrame([base | r for r in rows], schema=RECOVERY_EVENT_SCHEMA).lazy()


def event(case_id: str, record_id: str, step: str, on: date, **details: object) -> dict:
    """One step of recovering ``case_id`` (a notice, a payment...), recorded as ``record_id``."""
    return {"case_id": case_id, "record_id": record_id, "step": step, "on": on, **details}


#: Case C2's remaining 300 yuan written off, not yet signed off.
UNAPPROVED_WRITE_OFF = event("C2", "W1", "write_off", date(2020, 3, 10), amount=300.0, reason="x")


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (0, "0-30"),
        (30, "0-30"),
        (31, "31-90"),
        (90, "31-90"),
        (91, "91-180"),
        (180, "91-180"),
        (181, ">180"),
        (None, None),
    ],
)
def test_ageing_bucket_bounds(days, bucket) -> None:
    got = pl.select(ageing_bucket(pl.lit(days, dtype=pl.Int64))).item()
    assert got == bucket


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(30, "0-30"), (31, "31-90"), (90, "31-90"), (91, "91-180"), (180, "91-180"), (181, ">180")],
)
def test_an_open_account_ages_from_its_closing_day(days, bucket) -> None:
    ledger = recovery_accounts(cases(), events(), CLOSED + timedelta(days=days)).collect()
    assert ledger["days_outstanding"].to_list() == [days, days]
    assert ledger["ageing_bucket"].to_list() == [bucket, bucket]


def test_only_confirmed_cases_with_an_overpayment_closed_by_then_open_an_account() -> None:
    frame = cases(
        case_id=["C1", "C2", "C3", "C4", "C5"],
        person_id=["p1", "p2", "p3", "p4", "p5"],
        township=["a"] * 5,
        typology=["deceased_paid"] * 5,
        outcome=[
            "confirmed_deceased",
            "cleared",
            "confirmed_improper",
            "confirmed_improper",
            "unreachable",
        ],
        closed_on=[CLOSED, CLOSED, CLOSED, date(2020, 6, 1), CLOSED],
        overpaid_amount=[10.0, None, 0.0, 50.0, None],
        recovered_amount=[None] * 5,
    )
    ledger = recovery_accounts(frame, events(), date(2020, 5, 1)).collect()
    assert ledger["case_id"].to_list() == ["C1"]
    assert ledger.columns == list(LEDGER_COLUMNS)


def test_payments_notices_and_escalations_as_of_a_day() -> None:
    steps = events(
        event("C1", "N1", "notice", date(2020, 3, 5), deadline=date(2020, 4, 4)),
        event("C1", "P1", "payment", date(2020, 3, 20), amount=300.0, method="instalment"),
        event(
            "C1",
            "E1",
            "escalation",
            date(2020, 4, 10),
            method="administrative_order",
            deadline=date(2020, 5, 10),
        ),
        event("C1", "P2", "payment", date(2020, 6, 1), amount=700.0, method="full"),
        UNAPPROVED_WRITE_OFF | {"approved_on": date(2020, 3, 12)},
    )
    april = recovery_accounts(cases(), steps, date(2020, 4, 20)).collect()
    expected = pl.DataFrame(
        {
            "case_id": ["C1", "C2"],
            "due": [1000.0, 400.0],
            "recovered": [300.0, 100.0],
            "written_off": [0.0, 300.0],
            "outstanding": [700.0, 0.0],
            "last_step": ["escalation", "write_off"],
            "last_step_on": [date(2020, 4, 10), date(2020, 3, 12)],
            "ladder_step": ["administrative_order", "none"],
            "next_deadline": [date(2020, 5, 10), None],
            "overdue": [False, False],
            "status": ["open", "written_off"],
        }
    )
    assert_frame_equal(april.select(expected.columns), expected)
    # Before the notice's deadline passed and before the escalation: notified, not overdue.
    march = recovery_accounts(cases(), steps, date(2020, 3, 30)).collect().row(0, named=True)
    assert (march["ladder_step"], march["next_deadline"], march["overdue"]) == (
        "notified",
        date(2020, 4, 4),
        False,
    )
    may = recovery_accounts(cases(), steps, date(2020, 5, 11)).collect().row(0, named=True)
    assert may["overdue"]
    june = recovery_accounts(cases(), steps, date(2020, 6, 1)).collect().row(0, named=True)
    assert (june["status"], june["outstanding"], june["days_outstanding"]) == ("repaid", 0.0, None)


def test_an_unapproved_write_off_counts_nothing() -> None:
    ledger = recovery_accounts(cases(), events(UNAPPROVED_WRITE_OFF), date(2020, 9, 1)).collect()
    assert ledger.filter(pl.col("case_id") == "C2").select(
        "written_off", "outstanding", "last_step"
    ).row(0) == (0.0, 300.0, "closed")


def test_recovery_rate_and_counts_per_group_and_in_all() -> None:
    steps = events(
        event("C1", "N1", "notice", date(2020, 3, 5)),
        event("C1", "P1", "payment", date(2020, 3, 20), amount=250.0, method="offset"),
    )
    ledger = recovery_accounts(cases(), steps, date(2020, 4, 15)).collect()
    summary = summarise_recoveries(ledger.lazy(), "typology").collect()
    assert summary.columns == ["typology", *SUMMARY_COLUMNS]
    assert summary["typology"].to_list() == ["deceased_paid", "duplicate_receipt", "all"]
    assert summary["recovery_rate"].to_list() == [0.25, 0.25, round(350 / 1400, 4)]
    total = summary.row(2, named=True)
    assert (total["accounts"], total["due"], total["recovered"], total["outstanding"]) == (
        2,
        1400.0,
        350.0,
        1050.0,
    )
    assert (total["step_notified"], total["step_none"], total["aged_31-90"]) == (1, 1, 2)
    assert sum(total[f"aged_{b}"] for b in AGEING_BUCKETS) == total["status_open"] == 2


def test_a_summary_of_no_accounts_has_a_null_rate() -> None:
    ledger = recovery_accounts(cases(outcome=["cleared", "cleared"]), events(), date(2020, 4, 1))
    summary = summarise_recoveries(ledger, "township").collect()
    assert summary.select("township", "accounts", "recovery_rate").rows() == [("all", 0, None)]


def test_summary_by_something_else_is_refused() -> None:
    with pytest.raises(ValueError, match="township' or 'typology"):
        summarise_recoveries(recovery_accounts(cases(), events(), CLOSED), "scheme")  # type: ignore[arg-type]
