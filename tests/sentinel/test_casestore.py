"""The case store on SQLite always, and on PostgreSQL when SENTINEL_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sentinel.casestore import AuditOutcome, CaseStore, CaseValidationError

NOW = datetime(2020, 12, 20, 9, 0, tzinfo=UTC)
# Generated fake people (valid-looking shape, not real persons).
ALICE = "430101195001010012"
BOB = "430101194505050021"
CAROL = "430102193803030048"
#: An audit that found the person deceased, closing the case on 2020-02-03.
DECEASED_IN_FEBRUARY = AuditOutcome("confirmed_deceased", date(2020, 2, 3))


@pytest.fixture
def store(store_url: str) -> Iterator[CaseStore]:
    with CaseStore(store_url) as opened:
        yield opened


def case_list(*rows: tuple[str, str, str, float, str]) -> pl.DataFrame:
    """A month's case list from (case_id, person_id, typology, est_overpayment, reasons)."""
    return pl.DataFrame(
        {
            "case_id": [r[0] for r in rows],
            "person_id": [r[1] for r in rows],
            "township": ["城关镇"] * len(rows),
            "typology": [r[2] for r in rows],
            "priority_rank": list(range(1, len(rows) + 1)),
            "risk_score": [0.9 - 0.1 * i for i in range(len(rows))],
            "est_overpayment": [r[3] for r in rows],
            "reasons": [r[4] for r in rows],
        },
        schema_overrides={"priority_rank": pl.Int64},
    )


A = ("SU-aaaaaaaaaaaa", ALICE, "suspected_unreported_death", 1500.0, "SU_NO_CERT")
B = ("DR-bbbbbbbbbbbb", BOB, "duplicate_receipt", 800.0, "DR_TWO_SCHEMES")
C = ("AA-cccccccccccc", CAROL, "amount_anomaly", 300.0, "AA_ABOVE_STANDARD")


def test_new_then_carried_keeps_first_flagged(store: CaseStore) -> None:
    jan = store.record_month("2020-01", case_list(A, B), clear_months=6, now=NOW)
    feb = store.record_month("2020-02", case_list(B, C), clear_months=6, now=NOW)
    assert jan.select("case_id", "status", "first_flagged").rows() == [
        (A[0], "new", "2020-01"),
        (B[0], "new", "2020-01"),
    ]
    assert feb.select("case_id", "status", "first_flagged").rows() == [
        (B[0], "carried", "2020-01"),
        (C[0], "new", "2020-02"),
    ]
    # A case that comes back after a gap is carried, still first flagged when first listed.
    mar = store.record_month("2020-03", case_list(A), clear_months=6, now=NOW)
    assert mar.select("status", "first_flagged").row(0) == ("carried", "2020-01")
    assert store.case(A[0])["last_listed"] == "2020-03"


def test_record_month_keeps_input_columns_and_order(store: CaseStore) -> None:
    cases = case_list(C, A).with_columns(pl.lit("x").alias("evidence"))
    got = store.record_month("2020-01", cases, clear_months=6, now=NOW)
    assert got.columns == [*cases.columns, "first_flagged", "status", "note"]
    assert_frame_equal(got.select(cases.columns), cases)


def test_recording_a_month_twice_is_idempotent(store: CaseStore) -> None:
    store.record_month("2020-01", case_list(A, B), clear_months=6, now=NOW)
    first = store.record_month("2020-02", case_list(A, B, C), clear_months=6, now=NOW)
    events = store.events().height
    again = store.record_month("2020-02", case_list(A, B, C), clear_months=6, now=NOW)
    assert_frame_equal(first, again)
    assert store.events().height == events
    listed = store.events().filter(pl.col("kind") == "listed")
    assert listed.group_by("case_id", "month").len()["len"].max() == 1


def test_rerecording_a_month_replaces_its_list(store: CaseStore) -> None:
    store.record_month("2020-01", case_list(A, B), clear_months=6, now=NOW)
    store.record_month("2020-01", case_list(A), clear_months=6, now=NOW)
    feb = store.record_month("2020-02", case_list(B), clear_months=6, now=NOW)
    # B is no longer on January's list, so February is its first listing month.
    assert feb.select("status", "first_flagged").row(0) == ("new", "2020-02")


def test_record_month_rejects_bad_input(store: CaseStore) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        store.record_month("2020-13", case_list(A), clear_months=6)
    with pytest.raises(ValueError, match="repeats a case_id"):
        store.record_month("2020-01", case_list(A, A), clear_months=6)
    with pytest.raises(ValueError, match="lacks columns: reasons"):
        store.record_month("2020-01", case_list(A).drop("reasons"), clear_months=6)


def test_lifecycle_new_assigned_closed_with_events(store: CaseStore) -> None:
    store.record_month("2020-01", case_list(A), clear_months=6, now=NOW)
    assert store.case(A[0])["state"] == "new"
    assert store.assign(A[0], "auditor-li", actor="supervisor-wang", now=NOW)
    assert not store.assign(A[0], "auditor-li", actor="supervisor-wang", now=NOW)
    assert store.case(A[0])["state"] == "assigned"
    found = {"death_date": date(2019, 11, 3), "overpaid_amount": 1200.0}
    first = found | {"recovered_amount": 400.0, "note": "家属已退款部分"}
    signed = {"actor": "auditor-li", "reviewed_by": "reviewer-zhou", "now": NOW}
    assert store.close(
        A[0], AuditOutcome("confirmed_deceased", date(2020, 2, 10), **first), **signed
    )
    case = store.case(A[0])
    assert (case["state"], case["outcome"], case["closed_on"]) == (
        "closed",
        "confirmed_deceased",
        date(2020, 2, 10),
    )
    assert case["audited_reasons"] == "SU_NO_CERT"
    # The same result again records nothing; a different one is a correction.
    assert not store.close(
        A[0], AuditOutcome("确认死亡", date(2020, 2, 10), **first), actor="x", now=NOW
    )
    corrected = found | {"recovered_amount": 1200.0}
    assert store.close(
        A[0], AuditOutcome("confirmed_deceased", date(2020, 2, 10), **corrected), **signed
    )
    events = store.events(A[0])
    assert events["kind"].to_list() == ["listed", "assigned", "closed", "closed"]
    assert events["actor"].to_list() == ["sentinel", "supervisor-wang", "auditor-li", "auditor-li"]
    assert events["at"].to_list() == [NOW.replace(tzinfo=None)] * 4
    correction = json.loads(events["detail"][3])
    assert correction["corrects"]["recovered_amount"] == 400.0
    with pytest.raises(CaseValidationError, match=f"case {A[0]}: state: is closed"):
        store.assign(A[0], "auditor-zhao", actor="supervisor-wang")


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        ({"outcome": "maybe"}, "outcome", "is not one of"),
        ({"closed_on": date(2021, 1, 5)}, "closed_on", "in the future"),
        ({"closed_on": date(2019, 12, 31)}, "closed_on", "before the case was first listed"),
        ({"death_date": date(2021, 1, 1)}, "death_date", "in the future"),
        ({"death_date": date(2020, 3, 1)}, "death_date", "after closed_on"),
        (
            {"outcome": "cleared", "death_date": date(2019, 5, 1)},
            "death_date",
            "outcome is cleared",
        ),
        ({"overpaid_amount": -1.0}, "overpaid_amount", "negative"),
        ({"recovered_amount": -5.0}, "recovered_amount", "negative"),
        ({"overpaid_amount": 100.0, "recovered_amount": 150.0}, "recovered_amount", "more than"),
        ({"outcome": "cleared", "overpaid_amount": 10.0}, "overpaid_amount", "outcome is cleared"),
    ],
)
def test_close_rejects_impossible_results(
    store: CaseStore, changes: dict[str, object], field: str, problem: str
) -> None:
    store.record_month("2020-01", case_list(A), clear_months=6, now=NOW)
    result: dict[str, object] = {
        "outcome": "confirmed_deceased",
        "closed_on": date(2020, 2, 10),
        "death_date": None,
        "overpaid_amount": None,
        "recovered_amount": None,
    } | changes
    with pytest.raises(CaseValidationError, match=f"case {A[0]}: {field}: .*{problem}"):
        store.close(A[0], AuditOutcome(**result), actor="auditor-li", now=NOW)  # type: ignore[arg-type]
    assert store.case(A[0])["state"] == "new"


def test_close_of_unknown_case_names_it(store: CaseStore) -> None:
    with pytest.raises(ValueError, match="case XX-000000000000: case_id: unknown case"):
        store.close(
            "XX-000000000000", AuditOutcome("cleared", date(2020, 1, 1)), actor="a", now=NOW
        )


def test_cleared_person_is_suppressed_for_clear_months(store: CaseStore) -> None:
    store.record_month("2020-01", case_list(A, B), clear_months=3, now=NOW)
    store.close(A[0], AuditOutcome("cleared", date(2020, 2, 12)), actor="auditor-li", now=NOW)
    # Cleared in February: not listed in February, March or April ...
    for month in ("2020-02", "2020-03", "2020-04"):
        got = store.record_month(month, case_list(A, B), clear_months=3, now=NOW)
        assert got["case_id"].to_list() == [B[0]], month
    suppressed = store.events(A[0]).filter(pl.col("kind") == "suppressed")
    assert suppressed["month"].to_list() == ["2020-02", "2020-03", "2020-04"]
    # ... and listed again, reopened, from May on.
    may = store.record_month("2020-05", case_list(A, B), clear_months=3, now=NOW)
    assert may.filter(pl.col("case_id") == A[0]).select("status", "note").row(0) == (
        "carried",
        "cleared 2020-02, listed again after 3 months",
    )
    assert store.case(A[0])["state"] == "new"
    again = store.record_month("2020-05", case_list(A, B), clear_months=3, now=NOW)
    assert_frame_equal(may, again)
    assert store.events(A[0]).filter(pl.col("kind") == "reopened").height == 1


def test_new_evidence_relists_a_cleared_person(store: CaseStore) -> None:
    store.record_month("2020-01", case_list(A), clear_months=6, now=NOW)
    store.close(A[0], AuditOutcome("cleared", date(2020, 2, 12)), actor="auditor-li", now=NOW)
    with_death = (A[0], ALICE, A[2], 2100.0, "SU_NO_CERT,DP_PAID_AFTER_DEATH")
    mar = store.record_month("2020-03", case_list(with_death), clear_months=6, now=NOW)
    assert mar.select("status", "note").row(0) == (
        "carried",
        "cleared 2020-02, new evidence: DP_PAID_AFTER_DEATH",
    )
    assert store.case(A[0])["state"] == "new"
    reopened = store.events(A[0]).filter(pl.col("kind") == "reopened")
    assert reopened["month"].to_list() == ["2020-03"]
    assert_frame_equal(
        store.record_month("2020-03", case_list(with_death), clear_months=6, now=NOW), mar
    )
    # Another case of the cleared person with nothing new is suppressed too.
    same_reason = ("SU-dddddddddddd", ALICE, "identity_anomaly", 10.0, "SU_NO_CERT")
    apr = store.record_month("2020-04", case_list(with_death, same_reason), clear_months=6, now=NOW)
    assert apr["case_id"].to_list() == [A[0]]


def test_proof_of_life_is_not_new_evidence_against_a_cleared_person(store: CaseStore) -> None:
    # Regression: a passed in-person certification (SA_PROOF_OF_LIFE) reopened a case the
    # audit had just cleared, as if it were new evidence of an improper payment.
    shared = ("SA-eeeeeeeeeeee", ALICE, "shared_account", 900.0, "SA_SHARED_COLLECTOR")
    store.record_month("2020-01", case_list(shared), clear_months=6, now=NOW)
    store.close(shared[0], AuditOutcome("cleared", date(2020, 2, 12)), actor="auditor-li", now=NOW)
    seen_alive = (*shared[:4], "SA_SHARED_COLLECTOR,SA_PROOF_OF_LIFE")
    feb = store.record_month("2020-02", case_list(seen_alive), clear_months=6, now=NOW)
    assert feb.height == 0
    assert store.case(shared[0])["state"] == "closed"
    assert store.events(shared[0])["kind"].to_list() == ["listed", "closed", "suppressed"]


def test_confirmed_case_paid_after_the_audit_is_reopened(store: CaseStore) -> None:
    store.record_month("2020-01", case_list(A), clear_months=6, now=NOW)
    store.close(A[0], DECEASED_IN_FEBRUARY, actor="auditor-li", now=NOW)
    still_paid = case_list(A).with_columns(pl.lit("2020-03").alias("last_paid_period"))
    mar = store.record_month("2020-03", still_paid, clear_months=6, now=NOW)
    assert mar.select("status", "note").row(0) == ("reopened", "confirmed 2020-02, still paid")
    assert store.case(A[0])["state"] == "new"
    assert "reopened" in store.events(A[0])["kind"].to_list()
    # Re-recording January (before the audit) shows the list as it was.
    jan = store.record_month("2020-01", case_list(A), clear_months=6, now=NOW)
    assert jan.select("status", "note").row(0) == ("new", None)


def test_confirmed_case_whose_payments_stopped_leaves_the_list(store: CaseStore) -> None:
    store.record_month("2020-01", case_list(A), clear_months=6, now=NOW)
    store.close(A[0], DECEASED_IN_FEBRUARY, actor="auditor-li", now=NOW)
    stopped = case_list(A).with_columns(pl.lit("2020-02").alias("last_paid_period"))
    mar = store.record_month("2020-03", stopped, clear_months=6, now=NOW)
    assert mar.height == 0
    assert store.case(A[0])["state"] == "closed"


def test_open_case_whose_payments_stopped_is_carried_with_that_status(store: CaseStore) -> None:
    store.record_month("2020-01", case_list(A, B), clear_months=6, now=NOW)
    assert store.open_cases("2020-02", [B[0]])["case_id"].to_list() == [A[0]]
    stopped = case_list(A, B).with_columns(pl.Series("last_paid_period", ["2020-01", "2020-02"]))
    feb = store.record_month("2020-02", stopped, clear_months=6, now=NOW)
    assert feb.select("case_id", "status").rows() == [(A[0], "payments_stopped"), (B[0], "carried")]
    # Closing the case takes it off the open cases.
    store.close(
        A[0], AuditOutcome("confirmed_deceased", date(2020, 3, 3)), actor="auditor-li", now=NOW
    )
    assert store.open_cases("2020-04", [])["case_id"].to_list() == [B[0]]


def test_selections_are_kept_per_month_with_their_probability(store: CaseStore) -> None:
    chosen = case_list(A, B).with_columns(
        pl.Series("audit_selection", ["priority", "exploration"]),
        pl.Series("selection_probability", [1.0, 0.25]),
    )
    store.record_month("2020-01", chosen, clear_months=6, now=NOW)
    got = store.selections(up_to="2020-01")
    assert sorted(got.select("case_id", "month", "selection", "selection_probability").rows()) == [
        (B[0], "2020-01", "exploration", 0.25),
        (A[0], "2020-01", "priority", 1.0),
    ]
    assert store.selections(up_to="2019-12").height == 0


def test_unreachable_case_is_reopened_next_listing(store: CaseStore) -> None:
    store.record_month("2020-01", case_list(A), clear_months=6, now=NOW)
    store.close(A[0], AuditOutcome("unreachable", date(2020, 2, 3)), actor="auditor-li", now=NOW)
    mar = store.record_month("2020-03", case_list(A), clear_months=6, now=NOW)
    assert mar["note"].to_list() == ["unreachable 2020-02, listed again"]
    assert store.case(A[0])["state"] == "new"


def test_precision_and_recovery_reports(store: CaseStore) -> None:
    d = (
        "SU-dddddddddddd",
        "430103196007070035",
        "suspected_unreported_death",
        900.0,
        "SU_NO_CERT,SU_ACCOUNT_CHANGED",
    )
    store.record_month("2020-01", case_list(A, B, C, d), clear_months=6, now=NOW)
    closings = [
        (A[0], "confirmed_deceased", {"overpaid_amount": 1000.0, "recovered_amount": 250.0}),
        (d[0], "cleared", {}),
        (B[0], "confirmed_improper", {"overpaid_amount": 800.0, "recovered_amount": 800.0}),
        (C[0], "unreachable", {}),
    ]
    for case_id, outcome, amounts in closings:
        # A confirmed result carries the reviewer's sign-off.
        signoff = {"reviewed_by": "b"} if amounts else {}
        store.close(
            case_id,
            AuditOutcome(outcome, date(2020, 2, 1), **amounts),
            actor="a",
            now=NOW,
            **signoff,
        )
    by_typology = store.precision_by_typology()
    assert by_typology.drop("weighted_audited", "weighted_precision").rows() == [
        ("amount_anomaly", 0, 0, 0, 1, None),
        ("duplicate_receipt", 1, 1, 0, 0, 1.0),
        ("suspected_unreported_death", 2, 1, 1, 0, 0.5),
    ]
    assert (
        by_typology.columns
        == (
            "typology audited confirmed cleared unreachable precision weighted_audited weighted_precision"
        ).split()
    )
    by_reason = store.precision_by_reason()
    assert by_reason.select("reason", "audited", "precision").rows() == [
        ("AA_ABOVE_STANDARD", 0, None),
        ("DR_TWO_SCHEMES", 1, 1.0),
        ("SU_ACCOUNT_CHANGED", 1, 0.0),
        ("SU_NO_CERT", 2, 0.5),
    ]
    money = store.recovered_vs_estimated()
    assert money.rows() == [
        ("duplicate_receipt", 1, 800.0, 800.0, 800.0, 1.0, 1.0),
        ("suspected_unreported_death", 1, 1500.0, 1000.0, 250.0, 1000.0 / 1500.0, 0.25),
    ]


def test_open_longer_than(store: CaseStore) -> None:
    store.record_month(
        "2020-01", case_list(A), clear_months=6, now=datetime(2020, 2, 5, tzinfo=UTC)
    )
    store.record_month(
        "2020-02", case_list(A, B), clear_months=6, now=datetime(2020, 3, 5, tzinfo=UTC)
    )
    store.assign(B[0], "auditor-li", actor="s", now=NOW)
    late = store.open_longer_than(30, today=date(2020, 3, 20))
    assert late.select("case_id", "state", "days_open").rows() == [(A[0], "new", 44)]
    both = store.open_longer_than(10, today=date(2020, 3, 20))
    assert both.select("case_id", "assignee", "days_open").rows() == [
        (A[0], None, 44),
        (B[0], "auditor-li", 15),
    ]
    store.close(A[0], AuditOutcome("cleared", date(2020, 3, 1)), actor="a", now=NOW)
    assert store.open_longer_than(30, today=date(2020, 3, 20)).height == 0


def test_store_reopens_with_its_history(store_url: str) -> None:
    with CaseStore(store_url) as first:
        first.record_month("2020-01", case_list(A), clear_months=6, now=NOW)
    with CaseStore(store_url) as second:
        feb = second.record_month("2020-02", case_list(A), clear_months=6, now=NOW)
    assert feb["status"].to_list() == ["carried"]


def test_rederiving_from_a_month_gives_the_store_a_clean_run_would_have(
    store: CaseStore, tmp_path: Path
) -> None:
    """Regression (issue 18): a changed input of a processed month re-derives that month
    and every later one; the history keeps the old listings and says what was re-derived."""
    store.record_month("2020-01", case_list(A), clear_months=6, now=NOW)
    store.record_month("2020-02", case_list(A, B), clear_months=6, now=NOW)
    store.record_month("2020-03", case_list(B), clear_months=6, now=NOW)
    store.assign(B[0], "wang", actor="zhao", now=NOW)
    affected = store.rederive_from("2020-02", reason="payouts.csv of 2020-02 changed", now=NOW)
    assert affected == sorted([A[0], B[0]])
    # B was worked (assigned): kept; its listing months are gone until recorded again.
    assert store.case(B[0])["state"] == "assigned"
    assert store.case(A[0])["last_listed"] == "2020-01"
    # The changed inbox: February now lists C instead of B, March lists B.
    feb = store.record_month("2020-02", case_list(A, C), clear_months=6, now=NOW)
    mar = store.record_month("2020-03", case_list(B), clear_months=6, now=NOW)
    with CaseStore(f"sqlite:///{tmp_path / 'clean.sqlite'}") as clean:
        clean.record_month("2020-01", case_list(A), clear_months=6, now=NOW)
        clean_feb = clean.record_month("2020-02", case_list(A, C), clear_months=6, now=NOW)
        clean_mar = clean.record_month("2020-03", case_list(B), clear_months=6, now=NOW)
        assert_frame_equal(feb, clean_feb)
        assert_frame_equal(mar, clean_mar)
        for case_id in (A[0], B[0], C[0]):
            for column in ("first_flagged", "last_listed", "reasons", "est_overpayment"):
                assert store.case(case_id)[column] == clean.case(case_id)[column]
    events = store.events()
    rederived = events.filter(pl.col("kind") == "rederived")
    assert sorted(rederived["case_id"].to_list()) == sorted([A[0], B[0]])
    detail = json.loads(rederived.filter(pl.col("case_id") == B[0])["detail"][0])
    assert detail == {
        "from": "2020-02",
        "months": ["2020-02", "2020-03"],
        "reason": "payouts.csv of 2020-02 changed",
    }
    # Old listings stay in the history, out of their month; each month is listed once now.
    listed = events.filter(pl.col("kind") == "listed")
    superseded = listed.filter(pl.col("month").is_null())
    assert superseded.height == 3
    assert all(json.loads(d)["superseded"] for d in superseded["detail"])
    assert listed.drop_nulls("month").group_by("case_id", "month").len()["len"].max() == 1


def test_weighted_precision_lets_an_exploration_draw_speak_for_the_cases_like_it(
    store: CaseStore,
) -> None:
    """Two priority visits of a reason, both cleared, and one exploration draw of the same
    reason (chosen with probability 1/8), confirmed: the plain share is 1/3, the weighted
    one 8/10."""
    rows = [
        (f"SU-{i:012d}", f"P{i}", "suspected_unreported_death", 100.0, "SU_NO_CERT")
        for i in range(3)
    ]
    chosen = case_list(*rows).with_columns(
        pl.Series("audit_selection", ["priority", "priority", "exploration"]),
        pl.Series("selection_probability", [1.0, 1.0, 0.125]),
    )
    store.record_month("2020-01", chosen, clear_months=6, now=NOW)
    store.close(rows[0][0], AuditOutcome("cleared", date(2020, 2, 1)), actor="a", now=NOW)
    store.close(rows[1][0], AuditOutcome("cleared", date(2020, 2, 1)), actor="a", now=NOW)
    store.close(
        rows[2][0], AuditOutcome("confirmed_improper", date(2020, 2, 1)), actor="a", now=NOW
    )
    row = store.precision_by_reason().row(0, named=True)
    assert row["precision"] == pytest.approx(1 / 3)
    assert row["weighted_audited"] == pytest.approx(10.0)
    assert row["weighted_precision"] == pytest.approx(0.8)
