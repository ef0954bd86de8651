"""The published list: detections and the open cases carried from earlier months, in audit
order, with the month's visits chosen; a case stays listed until an audit closes it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from sentinel.casestore import AuditOutcome, CaseStore
from sentinel.config import load_config
from sentinel.listing import carried_cases, publish_listing
from sentinel.periods import month_number

CONFIG = load_config()


def detected(*rows: tuple[str, str, float, str, int]) -> pl.DataFrame:
    """Detection rows from (case_id, person_id, est_overpayment, last_paid_period, tier)."""
    n = len(rows)
    return pl.DataFrame(
        {
            "case_id": [r[0] for r in rows],
            "person_id": [r[1] for r in rows],
            "name": ["某某"] * n,
            "scheme": ["enterprise"] * n,
            "township": ["城关镇"] * n,
            "village": ["一村"] * n,
            "typology": ["deceased_paid"] * n,
            "priority_rank": list(range(1, n + 1)),
            "risk_score": [0.9] * n,
            "est_overpayment": [r[2] for r in rows],
            "evidence": ["死亡后仍发放"] * n,
            "reasons": ["DP_PAID_AFTER_DEATH"] * n,
            "strength": ["proof"] * n,
            "amount_at_stake": [r[2] + 6000.0 for r in rows],
            "last_paid_period": [r[3] for r in rows],
            "reason_codes": [["DP_PAID_AFTER_DEATH"]] * n,
            "tier": [r[4] for r in rows],
            "expected_recovery": [0.9 * (r[2] + 6000.0) for r in rows],
        },
        schema_overrides={"priority_rank": pl.Int64, "tier": pl.Int8},
    )


@pytest.fixture
def store(tmp_path: Path) -> CaseStore:
    with CaseStore(tmp_path / "cases.sqlite") as db:
        yield db


def test_a_case_whose_payments_stopped_is_carried_with_its_unrecovered_sum(store: CaseStore):
    jan = detected(("DP-1", "P1", 4000.0, "2020-01", 2), ("DP-2", "P2", 1000.0, "2020-01", 2))
    published = publish_listing(store, jan, pl.DataFrame(), "2020-01", CONFIG)
    assert published["status"].to_list() == ["new", "new"]
    # February: the register terminated P1, detection no longer raises the case.
    feb = detected(("DP-2", "P2", 3000.0, "2020-02", 2))
    open_cases = store.open_cases("2020-02", feb["case_id"].to_list())
    paid = pl.DataFrame({"person_id": ["P1"], "last_paid_index": [month_number("2020-01")]})
    carried = carried_cases(open_cases, published, paid, "2020-02", CONFIG.detection.forward_months)
    listed = publish_listing(store, feb, carried, "2020-02", CONFIG)
    row = listed.filter(pl.col("case_id") == "DP-1").row(0, named=True)
    assert row["status"] == "payments_stopped"
    assert row["est_overpayment"] == row["amount_at_stake"] == 4000.0
    assert row["evidence"] == "死亡后仍发放"
    assert row["last_paid_period"] == "2020-01"
    # Still carried a month later; gone once the audit closes it.
    mar_open = store.open_cases("2020-03", [])
    assert mar_open["case_id"].to_list() == ["DP-1", "DP-2"]
    store.close(
        "DP-1",
        AuditOutcome("confirmed_deceased", date(2020, 3, 5), death_date=date(2019, 12, 1)),
        actor="auditor",
    )
    assert store.open_cases("2020-04", [])["case_id"].to_list() == ["DP-2"]


def test_a_case_whose_pension_the_register_terminated_stays_listed_but_takes_no_visit(
    store: CaseStore,
):
    jan = detected(("DP-1", "P1", 9000.0, "2020-01", 2), ("DP-2", "P2", 100.0, "2020-01", 2))
    published = publish_listing(store, jan, pl.DataFrame(), "2020-01", CONFIG)
    # February: the centre terminated P1's pension (it matched the death record itself).
    feb = detected(("DP-2", "P2", 200.0, "2020-02", 2))
    open_cases = store.open_cases("2020-02", feb["case_id"].to_list())
    paid = pl.DataFrame(
        {
            "person_id": ["P1"],
            "last_paid_index": [month_number("2020-01")],
            "pension_terminated": [True],
        }
    )
    carried = carried_cases(open_cases, published, paid, "2020-02", CONFIG.detection.forward_months)
    listed = publish_listing(store, feb, carried, "2020-02", CONFIG)
    # Still on the list with its unrecovered sum, but after the case that needs a visit,
    # however rich: the termination procedure settles it.
    assert listed["case_id"].to_list() == ["DP-2", "DP-1"]
    row = listed.filter(pl.col("case_id") == "DP-1").row(0, named=True)
    assert row["status"] == "payments_stopped" and row["amount_at_stake"] == 9000.0
    assert row["audit_selection"] is None
    assert store.open_cases("2020-03", [])["case_id"].to_list() == ["DP-1", "DP-2"]


def test_a_carried_case_still_paid_keeps_its_ongoing_payments_at_stake():
    open_cases = pl.DataFrame(
        {
            "case_id": ["SD-1"], "person_id": ["P1"], "typology": ["suspected_unreported_death"],
            "township": ["城关镇"], "est_overpayment": [1200.0], "reasons": ["SD_CERT_LAPSED,SD_MORTALITY"],
            "last_listed": ["2020-04"], "risk_score": [0.4],
        }
    )
    previous = pl.DataFrame(
        {"case_id": ["SD-1"], "name": ["某某"], "scheme": ["resident"], "village": ["一村"],
         "evidence": ["已13个月无通过的资格认证"], "strength": ["signal"], "amount_at_stake": [1650.0]}
    )
    paid = pl.DataFrame({"person_id": ["P1"], "last_paid_index": [month_number("2020-05")]})
    row = carried_cases(open_cases, previous, paid, "2020-05", 3).row(0, named=True)
    assert row["amount_at_stake"] == pytest.approx(1650.0)
    assert row["expected_recovery"] == pytest.approx(0.4 * 1650.0)
    assert row["reason_codes"] == ["SD_CERT_LAPSED", "SD_MORTALITY"]
    assert row["tier"] == 1 and row["last_paid_period"] == "2020-05"


def test_a_case_missing_from_the_last_list_is_carried_from_the_store_alone():
    open_cases = pl.DataFrame(
        {
            "case_id": ["SD-1"], "person_id": ["P1"], "typology": ["suspected_unreported_death"],
            "township": ["城关镇"], "est_overpayment": [900.0], "reasons": ["SD_ACCOUNT_CHANGED"],
            "last_listed": ["2020-02"], "risk_score": [0.3],
        }
    )
    paid = pl.DataFrame({"person_id": ["P1"], "last_paid_index": [month_number("2020-02")]})
    row = carried_cases(open_cases, None, paid, "2020-05", 3).row(0, named=True)
    assert row["evidence"] == "listed until 2020-02"
    assert row["amount_at_stake"] == 900.0 and row["strength"] == "signal"


def test_the_month_is_ranked_and_its_visits_chosen_before_it_is_recorded(store: CaseStore):
    cases = detected(*[(f"DP-{i}", f"P{i}", 100.0 * i, "2020-01", 1) for i in range(1, 80)])
    published = publish_listing(store, cases, pl.DataFrame(), "2020-01", CONFIG)
    assert published["priority_rank"].to_list() == list(range(1, 80))
    assert published["case_id"][0] == "DP-79"  # richest first among alike cases
    chosen = published.filter(pl.col("audit_selection").is_not_null())
    assert chosen.height == CONFIG.detection.audit_capacity
    stored = store.selections(up_to="2020-01")
    assert sorted(stored["case_id"].to_list()) == sorted(chosen["case_id"].to_list())


def test_new_soft_signals_beyond_the_list_share_are_left_off_never_proof(store: CaseStore):
    proof = detected(*[(f"DP-{i}", f"P{i}", 500.0, "2020-01", 2) for i in range(15)])
    soft = detected(*[(f"SD-{i}", f"Q{i}", 100.0 + i, "2020-01", 1) for i in range(60)]).with_columns(
        pl.lit(0.2).alias("risk_score"), pl.lit("signal").alias("strength")
    )
    listing = pl.concat([proof, soft])
    # 1,000 recipients: at most 20 cases, but all 15 proof stay.
    published = publish_listing(store, listing, pl.DataFrame(), "2020-01", CONFIG, recipients=1000)
    assert published.height == 20
    assert published.filter(pl.col("strength") == "proof").height == 15
    # The richest soft signals stayed.
    kept = published.filter(pl.col("strength") == "signal")["person_id"].to_list()
    assert sorted(kept) == sorted(f"Q{i}" for i in range(55, 60))
    assert published["priority_rank"].to_list() == list(range(1, 21))


def test_new_soft_signals_are_listed_only_when_the_month_visits_them(store: CaseStore):
    proof = detected(*[(f"DP-{i}", f"P{i}", 500.0, "2020-01", 2) for i in range(10)])
    soft = detected(*[(f"SD-{i}", f"Q{i}", 100.0 + i, "2020-01", 1) for i in range(100)]).with_columns(
        pl.lit(0.2).alias("risk_score"), pl.lit("signal").alias("strength")
    )
    published = publish_listing(store, pl.concat([proof, soft]), pl.DataFrame(), "2020-01", CONFIG)
    capacity = CONFIG.detection.audit_capacity
    explore = round(capacity * CONFIG.detection.exploration_share)
    assert explore > 0
    listed_soft = published.filter(pl.col("strength") == "signal")
    # Every soft signal listed is a visit: the top of the list, or drawn from all below it.
    assert listed_soft["audit_selection"].null_count() == 0
    assert listed_soft.height == capacity - 10
    drawn = published.filter(pl.col("audit_selection") == "exploration")
    assert drawn.height == explore
    assert drawn["selection_probability"].to_list() == [explore / (110 - (capacity - explore))] * explore
    assert published.filter(pl.col("strength") == "proof").height == 10
    assert published["priority_rank"].to_list() == list(range(1, published.height + 1))
    # Listed once, a soft signal stays while open, visited or not; the others wait for a month
    # that visits them.
    carried = store.open_cases("2020-02", [])
    assert set(carried["case_id"]) == set(published["case_id"])


def _unseen(*rows: tuple[str, str, float], last_paid: str = "2020-01") -> pl.DataFrame:
    """Suspected deaths whose only reason is a lapsed certification, from (case_id,
    person_id, risk_score)."""
    return detected(*[(r[0], r[1], 300.0, last_paid, 1) for r in rows]).with_columns(
        pl.Series("risk_score", [r[2] for r in rows], pl.Float64),
        pl.lit("signal").alias("strength"),
        pl.lit("suspected_unreported_death").alias("typology"),
        pl.lit("SD_CERT_LAPSED").alias("reasons"),
        pl.lit(["SD_CERT_LAPSED"]).alias("reason_codes"),
    )


def test_a_case_first_raised_after_its_payments_stopped_may_take_a_visit_once(store: CaseStore):
    """A lapsed pensioner the suspension already stopped is a visit when first raised (a
    visit finds the death a family never reports); once listed, it awaits the certification
    procedure and takes no visit."""
    proof = detected(*[(f"DP-{i}", f"P{i}", 500.0, "2020-02", 2) for i in range(10)])
    unseen = _unseen(*[(f"SD-{i}", f"Q{i}", 0.2) for i in range(80)])
    feb = publish_listing(store, pl.concat([proof, unseen]), pl.DataFrame(), "2020-02", CONFIG)
    listed = feb.filter(pl.col("case_id").str.starts_with("SD"))
    assert listed.height == CONFIG.detection.audit_capacity - 10
    assert listed["audit_selection"].null_count() == 0
    mar = publish_listing(store, pl.concat([proof, unseen]), pl.DataFrame(), "2020-03", CONFIG)
    again = mar.filter(pl.col("case_id").is_in(listed["case_id"].implode()))
    assert set(again["status"]) == {"payments_stopped"}
    assert again["audit_selection"].null_count() == again.height
    # The month's visits go to the ones not yet listed.
    fresh = mar.filter(pl.col("case_id").str.starts_with("SD") & (pl.col("status") == "new"))
    assert fresh.height == 80 - listed.height
    assert fresh["audit_selection"].null_count() == 0


def test_a_soft_case_an_auditor_holds_stays_listed_when_its_month_is_derived_again(
    store: CaseStore,
):
    proof = detected(*[(f"DP-{i}", f"P{i}", 500.0, "2020-01", 2) for i in range(10)])
    soft = _unseen(*[(f"SD-{i}", f"Q{i}", 0.2) for i in range(100)], last_paid="2020-01")
    first = publish_listing(store, pl.concat([proof, soft]), pl.DataFrame(), "2020-01", CONFIG)
    drawn = first.filter(pl.col("audit_selection") == "exploration")["case_id"].to_list()
    assert store.assign(drawn[-1], "auditor1", actor="lead")
    store.rederive_from("2020-01", reason="payouts of 2020-01 changed")
    # One case fewer raised: the draw falls on other cases.
    again = publish_listing(
        store, pl.concat([proof, soft]).filter(pl.col("case_id") != "SD-50"), pl.DataFrame(),
        "2020-01", CONFIG,
    )  # fmt: skip
    assert drawn[-1] in again["case_id"].to_list()
    assert drawn[-1] in store.open_cases("2020-02", [])["case_id"].to_list()


def test_a_cleared_soft_case_raised_again_is_listed_only_when_visited(store: CaseStore):
    publish_listing(store, _unseen(("SD-X", "QX", 0.2)), pl.DataFrame(), "2020-01", CONFIG)
    assert store.close("SD-X", AuditOutcome("cleared", date(2020, 1, 20)), actor="auditor")
    proof = detected(*[(f"DP-{i}", f"P{i}", 500.0, "2021-02", 2) for i in range(60)])
    stronger = _unseen(*[(f"SD-Z{i}", f"QZ{i}", 0.3) for i in range(50)], last_paid="2021-02")
    raised = pl.concat([proof, stronger, _unseen(("SD-X", "QX", 0.2), last_paid="2021-02")])
    published = publish_listing(store, raised, pl.DataFrame(), "2021-02", CONFIG)
    listed = published.filter(pl.col("case_id") == "SD-X")
    # Past the clearing's quiet months it may come back, but only as a visit.
    assert listed.height == 0 or listed["audit_selection"].item() is not None
    assert published.filter(pl.col("audit_selection").is_null() & (pl.col("strength") != "proof")).height == 0


def test_leads_only_fill_the_visits_the_cases_leave(store: CaseStore):
    cases = detected(*[(f"DP-{i}", f"P{i}", 500.0, "2020-01", 2) for i in range(50)])
    leads = detected(*[(f"SD-{i}", f"Q{i}", 100.0 + i, "2020-01", 0) for i in range(20)]).with_columns(
        pl.lit(0.02).alias("risk_score"), pl.lit("lead").alias("strength"),
        pl.lit("suspected_unreported_death").alias("typology"),
    )
    published = publish_listing(store, pl.concat([cases, leads]), pl.DataFrame(), "2020-01", CONFIG)
    room = CONFIG.detection.audit_capacity - 50
    kept = published.filter(pl.col("strength") == "lead")
    assert kept.height == room
    # The most promising leads, after every case.
    assert kept["priority_rank"].min() == 51
    assert sorted(kept["person_id"].to_list()) == sorted(f"Q{i}" for i in range(20 - room, 20))


def test_upstream_suspects_are_never_left_off_however_weak_or_many(store: CaseStore):
    proof = detected(*[(f"DP-{i}", f"P{i}", 500.0, "2020-01", 2) for i in range(15)])
    soft = detected(*[(f"SD-{i}", f"Q{i}", 100.0 + i, "2020-01", 1) for i in range(30)]).with_columns(
        pl.lit(0.2).alias("risk_score"), pl.lit("signal").alias("strength")
    )
    # Suspect-only cases at the prior, some of a batch so large its code is common (tier 0).
    suspects = detected(
        *[(f"US-{i}", f"S{i}", 0.0, "2020-01", 1 if i % 2 else 0) for i in range(30)]
    ).with_columns(
        pl.lit(0.006).alias("risk_score"),
        pl.lit("upstream_suspect").alias("typology"),
        pl.lit("US_SUSPECT_DEATH").alias("reasons"),
        pl.lit(["US_SUSPECT_DEATH"]).alias("reason_codes"),
        pl.when(pl.col("tier") == 0).then(pl.lit("lead")).otherwise(pl.lit("signal")).alias("strength"),
    )
    published = publish_listing(
        store, pl.concat([proof, soft, suspects]), pl.DataFrame(), "2020-01", CONFIG, recipients=1000
    )
    # 1,000 recipients allow 20 cases: the 15 proof and every suspect stay, the soft signals go.
    assert set(published.filter(pl.col("typology") == "upstream_suspect")["person_id"]) == {
        f"S{i}" for i in range(30)
    }
    assert published.filter(pl.col("strength") == "proof").height == 15
    assert published.height == 15 + 30


def suspected(case_id: str, person: str, risk: float, first_flagged: str = "2020-02") -> dict:
    return {
        "case_id": case_id, "person_id": person, "typology": "suspected_unreported_death",
        "township": "城关镇", "est_overpayment": 300.0, "reasons": "SD_CERT_LAPSED,SD_MORTALITY",
        "first_flagged": first_flagged, "last_listed": "2020-04", "risk_score": risk,
    }  # fmt: skip


def test_a_case_refuted_by_an_in_person_pass_since_it_was_listed_stays_but_takes_no_visit(
    store: CaseStore,
):
    """Regression: a lapsed-certification case carried for months kept its old evidence and
    rank (inside capacity) after the person was seen alive at an on-site certification,
    while the suspension list, reading the same state, no longer listed them."""
    open_cases = pl.DataFrame([suspected("SD-1", "P1", 0.4), suspected("SD-2", "P2", 0.1)])
    previous = pl.DataFrame(
        {"case_id": ["SD-1", "SD-2"], "evidence": ["已13个月无通过的资格认证", "已14个月无通过的资格认证"]}
    )
    paid = pl.DataFrame(
        {
            "person_id": ["P1", "P2"],
            "last_paid_index": [month_number("2020-05")] * 2,
            "last_pass_date": [date(2020, 4, 20), None],
            "last_pass_method": ["on_site", None],
        }
    )
    carried = carried_cases(open_cases, previous, paid, "2020-05", 3)
    p1 = carried.filter(pl.col("person_id") == "P1").row(0, named=True)
    assert p1["certified_since"]
    assert p1["evidence"] == (
        "已13个月无通过的资格认证；列入清单后已于2020-04-20现场认证通过，工作人员见到本人，"
        "怀疑的依据已不成立，可核销本案"
    )
    assert not carried.filter(pl.col("person_id") == "P2")["certified_since"].item()
    listed = publish_listing(store, detected(), carried, "2020-05", CONFIG)
    # Listed until an auditor clears it, after the case that still needs a visit, unvisited.
    assert listed["case_id"].to_list() == ["SD-2", "SD-1"]
    assert listed.filter(pl.col("case_id") == "SD-1")["audit_selection"].item() is None
    # Carried again from this list: the note is replaced, not repeated.
    again = carried_cases(open_cases, listed, paid, "2020-06", 3)
    assert again.filter(pl.col("person_id") == "P1")["evidence"].item() == p1["evidence"]


def test_a_remote_pass_since_the_listing_is_noted_but_refutes_nothing():
    open_cases = pl.DataFrame([suspected("SD-1", "P1", 0.4)])
    paid = pl.DataFrame(
        {
            "person_id": ["P1"],
            "last_paid_index": [month_number("2020-05")],
            "last_pass_date": [date(2020, 4, 20)],
            "last_pass_method": ["face_app"],
        }
    )
    row = carried_cases(open_cases, None, paid, "2020-05", 3, "en").row(0, named=True)
    assert not row["certified_since"]
    assert row["evidence"] == (
        "listed until 2020-04; since listed, a face_app certification passed on 2020-04-20 "
        "(not in person: somebody else may have passed it)"
    )


def test_an_in_person_pass_before_the_listing_or_against_other_reasons_refutes_nothing():
    shared = suspected("SA-1", "P2", 0.4) | {"typology": "shared_account", "reasons": "SA_SHARED_ACCOUNT"}
    open_cases = pl.DataFrame([suspected("SD-1", "P1", 0.4, first_flagged="2020-04"), shared])
    paid = pl.DataFrame(
        {
            "person_id": ["P1", "P2"],
            "last_paid_index": [month_number("2020-05")] * 2,
            "last_pass_date": [date(2020, 3, 31), date(2020, 4, 20)],
            "last_pass_method": ["home_visit", "on_site"],
        }
    )
    carried = carried_cases(open_cases, None, paid, "2020-05", 3)
    assert carried["certified_since"].to_list() == [False, False]


def test_a_detention_case_an_acquittal_ended_stays_listed_but_takes_no_visit(store: CaseStore):
    """Regression: pension paid in pre-trial detention was raised as a signal; once the
    court acquitted the person (the pension is then paid back), detection stopped raising
    it, and the carried case kept its rank and a visit every month."""
    detention = {
        "case_id": "CP-1", "person_id": "P1", "typology": "custody_paid", "township": "城关镇",
        "est_overpayment": 900.0, "reasons": "CP_PAID_IN_DETENTION", "first_flagged": "2020-03",
        "last_listed": "2020-04", "risk_score": 0.9,
    }  # fmt: skip
    prison = detention | {"case_id": "CP-2", "person_id": "P2", "reasons": "CP_PAID_IN_PRISON"}
    paid = pl.DataFrame(
        {
            "person_id": ["P1", "P2"],
            "last_paid_index": [month_number("2020-05")] * 2,
            "acquitted_on": [date(2020, 4, 28), date(2020, 4, 28)],
        }
    )
    carried = carried_cases(pl.DataFrame([detention, prison]), None, paid, "2020-05", 3)
    p1 = carried.filter(pl.col("person_id") == "P1").row(0, named=True)
    assert p1["acquitted_since"]
    assert p1["evidence"].endswith("2020-04-28宣告无罪，羁押期间的待遇应予补发，怀疑的依据已不成立，可核销本案")
    # An acquittal refutes nothing of a sentence being served.
    assert not carried.filter(pl.col("person_id") == "P2")["acquitted_since"].item()
    listed = publish_listing(store, detected(), carried, "2020-05", CONFIG)
    assert listed["case_id"].to_list() == ["CP-2", "CP-1"]
    assert listed.filter(pl.col("case_id") == "CP-1")["audit_selection"].item() is None


def test_a_case_a_pass_answers_whose_payments_stopped_stays_listed_but_takes_no_visit(
    store: CaseStore,
):
    """Regression: lapsed-certification cases whose pensions the suspension had since stopped
    were carried at the probability of the month they were raised and filled a fifth of
    the visits; the certification procedure answers them (a pass restores the pension) and
    no loss runs meanwhile."""
    lapsed = suspected("SD-1", "P1", 0.4)
    shared = suspected("SA-1", "P2", 0.2) | {"typology": "shared_account", "reasons": "SA_SHARED_ACCOUNT"}
    still_paid = suspected("SD-3", "P3", 0.1)
    paid = pl.DataFrame(
        {
            "person_id": ["P1", "P2", "P3"],
            "last_paid_index": [month_number(m) for m in ("2020-03", "2020-03", "2020-06")],
        }
    )
    previous = pl.DataFrame({"case_id": ["SD-1"], "evidence": ["已13个月无通过的资格认证"]})
    carried = carried_cases(pl.DataFrame([lapsed, shared, still_paid]), previous, paid, "2020-05", 3)
    p1 = carried.filter(pl.col("person_id") == "P1").row(0, named=True)
    assert p1["evidence"] == (
        "已13个月无通过的资格认证；2020-03之后已停发，怀疑的依据只是未见本人认证，"
        "由资格认证程序处理（本人认证即恢复发放），无需走访，期间多发的待遇仍待核实"
    )
    # A stopped case with other evidence keeps its note-free evidence and its visit.
    assert "停发" not in carried.filter(pl.col("person_id") == "P2")["evidence"].item()
    listed = publish_listing(store, detected(), carried, "2020-05", CONFIG)
    # New to this store in May; carried (P3 still paid) or payments_stopped in June.
    june = carried_cases(pl.DataFrame([lapsed, shared, still_paid]), listed, paid, "2020-06", 3)
    listed = publish_listing(store, detected(), june, "2020-06", CONFIG)
    order = listed["case_id"].to_list()
    assert order[-1] == "SD-1", "the stopped lapse case goes after every case needing a visit"
    row = listed.filter(pl.col("case_id") == "SD-1").row(0, named=True)
    assert row["status"] == "payments_stopped"
    assert row["audit_selection"] is None
    assert listed.filter(pl.col("case_id") == "SA-1")["audit_selection"].item() == "priority"
    # The note is replaced, not repeated, when the case is carried again.
    again = carried_cases(pl.DataFrame([lapsed]), listed, paid, "2020-07", 3)
    assert again["evidence"].item().count("之后已停发") == 1
