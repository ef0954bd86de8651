"""The recovery ledger in the case store: steps validated, recorded once per record,
write-offs signed off by a second user, every step in the events' hash chain."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import text

from sentinel.casestore import CaseStore, CaseValidationError
from sentinel.casestore.chain import check_history
from sentinel.casestore.recovery import (
    RecoveryEntry,
    approve_write_off,
    import_recoveries,
    record_recovery,
    recovery_events,
    recovery_ledger,
    recovery_summary,
)
from sentinel.masking import mask_id

sys.path.insert(0, str(Path(__file__).parents[1]))  # the shared case builders
from case_builders import close_reviewed, deceased_paid_listing, record_step  # noqa: E402

NOW = datetime(2020, 9, 1, 10, 0, tzinfo=UTC)
CLOSED = date(2020, 4, 10)


@pytest.fixture
def store(store_url: str):  # type: ignore[no-untyped-def]
    with CaseStore(store_url) as opened:
        listing = deceased_paid_listing("p1", "p2", "p3", "p4", townships=("城关镇", "梅城镇"))
        opened.record_month("2020-03", listing, clear_months=12)
        close_reviewed(
            opened,
            [
                (
                    "DP-p1",
                    "confirmed_deceased",
                    CLOSED,
                    {"overpaid_amount": 1200.0, "recovered_amount": 200.0},
                ),
                ("DP-p2", "confirmed_improper", CLOSED, {"overpaid_amount": 600.0}),
                ("DP-p3", "cleared", CLOSED, {}),
                ("DP-p4", "confirmed_improper", CLOSED, {"overpaid_amount": 0.0}),
            ],
            now=NOW,
        )
        yield opened


def record(store: CaseStore, case_id: str, step: str, on: date, **details) -> bool:  # type: ignore[no-untyped-def]
    """One recovery step recorded by the recovery officer li, today being NOW."""
    return record_step(store, case_id, step, on, now=NOW, **details)


def propose_write_off(store: CaseStore, reason: str, step: str = "write_off") -> bool:
    """li proposes writing off the 600.00 DP-p2 owes, on 2020-06-01, as record W-1."""
    return record(
        store, "DP-p2", step, date(2020, 6, 1), amount=600.0, reason=reason, record_id="W-1"
    )


def test_an_account_opens_with_what_was_recovered_at_closing(store: CaseStore) -> None:
    ledger = recovery_ledger(store, date(2020, 5, 10))
    assert ledger["case_id"].to_list() == ["DP-p1", "DP-p2"]  # cleared / nothing overpaid: none
    first = ledger.row(0, named=True)
    assert (first["due"], first["recovered"], first["outstanding"]) == (1200.0, 200.0, 1000.0)
    assert (first["last_step"], first["ladder_step"], first["status"]) == ("closed", "none", "open")
    assert (first["days_outstanding"], first["ageing_bucket"]) == (30, "0-30")


def test_a_notice_and_payments_settle_the_account(store: CaseStore) -> None:
    assert record(
        store, "DP-p1", "催缴通知", date(2020, 4, 15), deadline=date(2020, 5, 15), record_id="N-1"
    )
    assert record(
        store, "DP-p1", "payment", date(2020, 5, 1), amount=400.0, method="分期", record_id="R-1"
    )
    assert record(
        store,
        "DP-p1",
        "payment",
        date(2020, 6, 1),
        amount=600.0,
        method="instalment",
        record_id="R-2",
    )
    may = recovery_ledger(store, date(2020, 5, 20)).row(0, named=True)
    assert (may["recovered"], may["outstanding"], may["ladder_step"]) == (600.0, 600.0, "notified")
    assert may["next_deadline"] == date(2020, 5, 15) and may["overdue"]
    june = recovery_ledger(store, date(2020, 6, 30)).row(0, named=True)
    assert (june["recovered"], june["outstanding"], june["status"]) == (1200.0, 0.0, "repaid")
    assert june["ageing_bucket"] is None and june["next_deadline"] is None
    events = store.events("DP-p1").filter(pl.col("kind") == "recovery")
    assert events.height == 3 and events["month"].null_count() == 3


def test_the_same_record_is_recorded_once(store: CaseStore) -> None:
    payment = RecoveryEntry(
        "payment", date(2020, 5, 1), amount=300.0, method="full", record_id="R-9"
    )
    assert record_recovery(store, "DP-p2", payment, actor="li", now=NOW)
    assert not record_recovery(store, "DP-p2", payment, actor="li", now=NOW)
    assert recovery_events(store, "DP-p2").height == 1
    with pytest.raises(CaseValidationError, match="record_id: 'R-9' is already recorded"):
        record_recovery(store, "DP-p2", replace(payment, amount=200.0), actor="li", now=NOW)
    # The same receipt number on another case is another record.
    assert record_recovery(store, "DP-p1", payment, actor="li", now=NOW)


@pytest.mark.parametrize(
    ("case_id", "step", "kwargs", "field", "problem"),
    [
        ("DP-nobody", "notice", {}, "case_id", "unknown case"),
        ("DP-p3", "notice", {}, "outcome", "not closed as confirmed"),
        ("DP-p4", "notice", {}, "overpaid_amount", "nothing overpaid"),
        ("DP-p2", "reminder", {}, "step", "'reminder' is not one of"),
        ("DP-p2", "payment", {"method": "full"}, "amount", "needs an amount above 0"),
        (
            "DP-p2",
            "payment",
            {"method": "full", "amount": -5.0},
            "amount",
            "needs an amount above 0",
        ),
        (
            "DP-p2",
            "payment",
            {"method": "full", "amount": 600.01},
            "amount",
            "more than the 600.00 still outstanding",
        ),
        ("DP-p2", "payment", {"amount": 10.0}, "method", "is empty"),
        (
            "DP-p2",
            "payment",
            {"amount": 10.0, "method": "court"},
            "method",
            "not one of the payment methods",
        ),
        ("DP-p2", "escalation", {"method": "分期"}, "method", "not one of the escalation methods"),
        ("DP-p2", "notice", {"method": "full"}, "method", "only for payments and escalations"),
        ("DP-p2", "notice", {"amount": 5.0}, "amount", "a notice has no amount"),
        ("DP-p2", "notice", {"on": date(2020, 9, 2)}, "on", "is in the future"),
        ("DP-p2", "notice", {"on": date(2020, 4, 9)}, "on", "before the case was closed"),
        ("DP-p2", "notice", {"deadline": date(2020, 4, 30)}, "deadline", "before the step's date"),
        ("DP-p2", "write_off", {"amount": 100.0}, "reason", "needs a reason"),
        ("DP-p2", "notice", {"source": "fax"}, "source", "not one of"),
    ],
)
def test_a_step_that_cannot_be_right_is_refused_naming_case_field_and_problem(
    store: CaseStore, case_id, step, kwargs, field, problem
) -> None:
    fields = {"on": date(2020, 5, 2)} | kwargs
    source = fields.pop("source", "app")  # the call's, not the entry's
    entry = RecoveryEntry(step, **fields)
    with pytest.raises(CaseValidationError, match=problem) as raised:
        record_recovery(store, case_id, entry, actor="li", source=source, now=NOW)
    assert raised.value.field == field
    assert raised.value.case_id == mask_id(case_id)
    assert recovery_events(store).height == 0


def test_a_settled_account_takes_no_notice(store: CaseStore) -> None:
    record(store, "DP-p2", "payment", date(2020, 5, 1), amount=600.0, method="bank_return")
    with pytest.raises(CaseValidationError, match="nothing outstanding"):
        record(store, "DP-p2", "notice", date(2020, 5, 2))


def test_a_write_off_counts_only_once_another_user_approves_it(store: CaseStore) -> None:
    assert propose_write_off(store, "死亡无遗产", step="核销")
    proposed = recovery_ledger(store, date(2020, 8, 1)).filter(pl.col("case_id") == "DP-p2")
    assert (proposed["written_off"][0], proposed["status"][0]) == (0.0, "open")
    with pytest.raises(CaseValidationError, match="proposed a write-off cannot approve it"):
        approve_write_off(store, "DP-p2", "W-1", actor="li", now=NOW)
    with pytest.raises(CaseValidationError, match="no write-off 'W-2' proposed"):
        approve_write_off(store, "DP-p2", "W-2", actor="zhao", now=NOW)
    assert approve_write_off(store, "DP-p2", "W-1", actor="zhao", now=NOW)
    assert not approve_write_off(store, "DP-p2", "W-1", actor="zhao", now=NOW)
    before = recovery_ledger(store, date(2020, 8, 31)).filter(pl.col("case_id") == "DP-p2")
    assert before["status"][0] == "open"  # approved on 2020-09-01: not yet on 08-31
    after = recovery_ledger(store, date(2020, 9, 1)).filter(pl.col("case_id") == "DP-p2")
    assert after.select("written_off", "outstanding", "status", "last_step").row(0) == (
        600.0,
        0.0,
        "written_off",
        "write_off",
    )
    steps = recovery_events(store, "DP-p2")
    assert steps.select("approved_by", "approved_on").row(0) == ("zhao", date(2020, 9, 1))


def test_an_approval_above_what_is_still_owed_is_refused(store: CaseStore) -> None:
    propose_write_off(store, "无力偿还")
    record(store, "DP-p2", "payment", date(2020, 6, 5), amount=100.0, method="offset")
    with pytest.raises(CaseValidationError, match="more than the 500.00 still outstanding"):
        approve_write_off(store, "DP-p2", "W-1", actor="zhao", now=NOW)


def test_a_hand_edited_recovery_event_breaks_the_chain(store: CaseStore) -> None:
    record(
        store, "DP-p1", "payment", date(2020, 5, 1), amount=500.0, method="full", record_id="R-1"
    )
    record(store, "DP-p1", "notice", date(2020, 5, 2))
    assert check_history(store.engine).holds
    target = int(store.events().filter(pl.col("kind") == "recovery")["id"][0])
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE events SET detail = :d WHERE id = :id"),
            {
                "d": '{"step": "payment", "amount": 1000.0, "method": "full", "on": "2020-05-01", "record_id": "R-1"}',
                "id": target,
            },
        )
    broken = check_history(store.engine).broken
    assert broken is not None and (broken.table, broken.row_id) == ("events", target)


def test_the_summary_adds_up_per_township(store: CaseStore) -> None:
    record(store, "DP-p1", "payment", date(2020, 5, 1), amount=1000.0, method="full")
    record(store, "DP-p2", "notice", date(2020, 4, 20))
    record(store, "DP-p2", "escalation", date(2020, 6, 1), method="申请法院强制执行")
    summary = recovery_summary(recovery_ledger(store, date(2020, 8, 1)), "township")
    assert summary["township"].to_list() == ["城关镇", "梅城镇", "all"]
    total = summary.row(2, named=True)
    assert (total["due"], total["recovered"], total["outstanding"]) == (1800.0, 1200.0, 600.0)
    assert total["recovery_rate"] == round(1200 / 1800, 4)
    assert (total["step_court"], total["step_none"], total["aged_91-180"]) == (1, 1, 1)
    assert (total["status_repaid"], total["status_open"]) == (1, 1)


def import_drop(store: CaseStore, rows: pl.DataFrame):  # type: ignore[no-untyped-def]
    """The rows of a recoveries.csv drop imported with a 30-day notice deadline."""
    return import_recoveries(
        store,
        rows,
        actor="drop:recoveries",
        source="drop",
        notice_deadline_days=30,
        file="recoveries.csv",
        now=NOW,
    )


def test_an_import_reports_each_bad_row_and_applies_the_rest(store: CaseStore) -> None:
    rows = pl.DataFrame(
        {
            "_row": [1, 2, 3, 4, 5],
            "record_id": ["N-1", "R-1", "R-2", "W-1", "R-3"],
            "case_id": ["DP-p1", "DP-p1", "DP-p2", "DP-p2", "DP-p3"],
            "person_id": [None, "p1", "p9", None, None],
            "step": ["notice", "payment", "payment", "write_off", "payment"],
            "step_date": [
                date(2020, 5, 1),
                date(2020, 5, 3),
                date(2020, 5, 3),
                date(2020, 5, 4),
                date(2020, 5, 3),
            ],
            "amount": [None, 300.0, 100.0, 50.0, 10.0],
            "method": [None, "full", "full", None, "full"],
            "deadline": [None, None, None, None, None],
            "reason": [None, None, None, "死亡无遗产", None],
            "operator": ["li", None, None, "li", None],
            "approved_by": [None, None, None, "li", None],
        },
        schema_overrides={"deadline": pl.Date},
    )
    report = import_drop(store, rows)
    assert (report.applied, report.rejected) == (2, 3)
    problems = {(e.row, e.column): e.problem for e in report.errors}
    assert "is not the case's person" in problems[(3, "person_id")]
    assert "cannot approve" in problems[(4, "actor")]
    assert "not closed as confirmed" in problems[(5, "outcome")]
    assert str(report.errors[0]).startswith("recoveries.csv, row 3, case ")
    notice = recovery_events(store, "DP-p1").filter(pl.col("step") == "notice").row(0, named=True)
    assert notice["deadline"] == date(2020, 5, 31) and notice["actor"] == "li"
    again = import_drop(store, rows)
    # The write-off was proposed on the first import (its approval refused): unchanged now.
    assert (again.applied, again.unchanged) == (0, 2)
    assert recovery_events(store).height == 3


def test_an_approval_is_dated_not_in_the_future_nor_before_the_proposal(store: CaseStore) -> None:
    propose_write_off(store, "死亡无遗产")
    with pytest.raises(CaseValidationError, match="before the write-off was proposed"):
        approve_write_off(store, "DP-p2", "W-1", actor="zhao", on=date(2020, 5, 31), now=NOW)
    with pytest.raises(CaseValidationError, match="in the future"):
        approve_write_off(store, "DP-p2", "W-1", actor="zhao", on=date(2020, 9, 2), now=NOW)
    assert approve_write_off(store, "DP-p2", "W-1", actor="zhao", on=date(2020, 6, 10), now=NOW)
    june = recovery_ledger(store, date(2020, 6, 10)).filter(pl.col("case_id") == "DP-p2")
    assert june["status"][0] == "written_off"
