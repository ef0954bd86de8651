"""Base rates, common reasons, proof tiers and the audit order (features/scoring.py)."""

from __future__ import annotations

import polars as pl
import pytest

from features.audit_order import TIER_REOPENED, rank_cases
from features.scoring import (
    TIER_NONE,
    TIER_PROOF,
    TIER_SIGNAL,
    case_tiers,
    corroborate_suspects,
    discount_common_reasons,
    reason_base_rates,
    recipients_by_scheme,
    score_reasons,
    suspect_lifts,
)

SHARE = 0.01


def reasons(*rows: tuple[str, str, str, float]) -> pl.LazyFrame:
    """Reason rows from (person_id, typology, reason, probability)."""
    return pl.LazyFrame(
        [(*r, 100.0, ["-"]) for r in rows],
        schema={
            "person_id": pl.String,
            "typology": pl.String,
            "reason": pl.String,
            "probability": pl.Float64,
            "est_overpayment": pl.Float64,
            "facts": pl.List(pl.String),
        },
        orient="row",
    )


def people(*persons: tuple[str, str]) -> pl.LazyFrame:
    return pl.LazyFrame(list(persons), schema=["person_id", "scheme"], orient="row")


def recipients(**counts: int) -> pl.LazyFrame:
    return pl.LazyFrame(
        {"scheme": list(counts), "recipients": list(counts.values())},
        schema={"scheme": pl.String, "recipients": pl.UInt32},
    )


def test_recipients_are_persons_paid_a_regular_pension_for_the_month():
    ledger = pl.LazyFrame(
        {
            "person_id": ["a", "a", "b", "c", "d"],
            "scheme": ["resident", "resident", "resident", "enterprise", "enterprise"],
            "kind": ["regular", "regular", "regular", "arrears", "regular"],
            # a: Jan-Dec in two runs; b: stopped in June; c: arrears only; d: Dec
            "period_index": [24240, 24246, 24240, 24251, 24251],
            "period_end": [24245, 24251, 24245, 24251, 24251],
        }
    )
    got = recipients_by_scheme(ledger, "2020-12").collect().sort("scheme")
    assert got.rows() == [("enterprise", 1), ("resident", 1)]


def test_base_rate_is_the_share_of_the_schemes_recipients_with_the_reason():
    rows = reasons(
        *[(f"r{i}", "amount_anomaly", "AA_OFF_STANDARD", 0.3) for i in range(30)],
        ("e1", "amount_anomaly", "AA_JUMP", 0.7),
        ("x", "identity_anomaly", "IA_UNREGISTERED_PAYEE", 0.95),
    )
    who = people(*[(f"r{i}", "resident") for i in range(30)], ("e1", "enterprise"))
    got = reason_base_rates(rows, who, recipients(resident=1000, enterprise=100)).collect()
    share = {(r["reason"], r["scheme"]): r["share"] for r in got.iter_rows(named=True)}
    assert share[("AA_OFF_STANDARD", "resident")] == pytest.approx(0.03)
    assert share[("AA_JUMP", "enterprise")] == pytest.approx(0.01)
    # Off the register: compared with every recipient.
    assert share[("IA_UNREGISTERED_PAYEE", None)] == pytest.approx(1 / 1100)


def test_a_common_reason_is_discounted_by_its_share_and_a_rare_one_stands():
    """30 residents of 1,000 off the standard (3%) count a third of their prior; a jump
    seen once stands; a person with a rare reason beside the common one keeps the prior."""
    rows = reasons(
        *[(f"r{i}", "amount_anomaly", "AA_OFF_STANDARD", 0.3) for i in range(30)],
        ("r0", "amount_anomaly", "AA_JUMP", 0.3),
        ("e1", "amount_anomaly", "AA_JUMP", 0.7),
    )
    who = people(*[(f"r{i}", "resident") for i in range(30)], ("e1", "enterprise"))
    rates = reason_base_rates(rows, who, recipients(resident=1000, enterprise=100))
    got = discount_common_reasons(rows, who, rates, SHARE).collect()
    p = {(r["person_id"], r["reason"]): r["probability"] for r in got.iter_rows(named=True)}
    assert p[("r1", "AA_OFF_STANDARD")] == pytest.approx(0.3 * 0.01 / 0.03)
    assert p[("e1", "AA_JUMP")] == pytest.approx(0.7)
    assert p[("r0", "AA_OFF_STANDARD")] == pytest.approx(0.3)


def test_reasons_weighed_by_their_observed_share_are_not_discounted_again():
    rows = reasons(
        *[(f"r{i}", "suspected_unreported_death", "SD_CERT_LAPSED", 0.2) for i in range(50)]
    )
    who = people(*[(f"r{i}", "resident") for i in range(50)])
    rates = reason_base_rates(rows, who, recipients(resident=100))
    got = discount_common_reasons(rows, who, rates, SHARE).collect()
    assert got["probability"].to_list() == [0.2] * 50


def test_proof_outranks_signals_unless_doubted_or_common():
    rows = reasons(
        ("dead", "deceased_paid", "DP_PAID_AFTER_DEATH", 0.9),
        ("doubted", "deceased_paid", "DP_PAID_AFTER_DEATH", 0.3),
        ("doubted", "deceased_paid", "DP_ALIVE_AFTER_DEATH", 0.3),
        ("pending", "deceased_paid", "DP_PAID_AFTER_DEATH", 0.2),
        ("pending", "deceased_paid", "DP_RECORD_JUST_ARRIVED", 0.2),
        ("ring", "shared_account", "SA_SHARED_ACCOUNT", 0.35),
        ("old", "suspected_unreported_death", "SD_MORTALITY", 0.01),
        *[(f"t{i}", "amount_anomaly", "AA_PAID_WHILE_TERMINATED", 0.97) for i in range(20)],
        *[(f"low{i}", "amount_anomaly", "AA_OFF_STANDARD", 0.3) for i in range(30)],
        ("low0", "identity_anomaly", "IA_BIRTH_MISMATCH", 0.7),
    )
    who = people(
        *[(p, "resident") for p in ("dead", "doubted", "pending", "ring", "old")],
        *[(f"t{i}", "enterprise") for i in range(20)],
        *[(f"low{i}", "resident") for i in range(30)],
    )
    rates = reason_base_rates(rows, who, recipients(resident=1000, enterprise=100))
    tiers = dict(
        case_tiers(rows, who, rates, SHARE).collect().select("person_id", "tier").iter_rows()
    )
    assert tiers["dead"] == TIER_PROOF
    assert tiers["doubted"] == tiers["pending"] == tiers["ring"] == TIER_SIGNAL
    assert tiers["old"] == TIER_NONE  # context alone is not a case
    # 20% of the enterprise recipients "paid while terminated": a register habit, not proof,
    # but never dropped.
    assert tiers["t0"] == TIER_SIGNAL
    # 3% of the residents below the standard (a standard applied late): no case on that
    # alone; with a rare reason beside it, a case.
    assert tiers["low1"] == TIER_NONE
    assert tiers["low0"] == TIER_SIGNAL


def test_score_reasons_gives_one_row_per_person_with_its_tier():
    rows = reasons(
        ("dead", "deceased_paid", "DP_PAID_AFTER_DEATH", 0.9),
        ("dead", "shared_account", "SA_SHARED_ACCOUNT", 0.35),
    )
    who = people(("dead", "resident"))
    rates = reason_base_rates(rows, who, recipients(resident=1000))
    got = score_reasons(rows, who, rates, SHARE, recipients=1000).collect()
    assert got.height == 1
    row = got.row(0, named=True)
    assert (row["typology"], row["tier"]) == ("deceased_paid", TIER_PROOF)
    assert row["rule_probability"] == pytest.approx(1 - 0.1 * 0.65)


def death_list(corroborated: int, suspects: int) -> list[tuple[str, str, str, float]]:
    """An upstream death list of ``suspects`` persons, ``corroborated`` of whom the rules
    also suspect (a lapsed certification), and 10 lapsed persons no list names."""
    rows = [(f"s{i}", "upstream_suspect", "US_SUSPECT_DEATH", 0.006) for i in range(suspects)]
    rows += [
        (f"s{i}", "suspected_unreported_death", "SD_CERT_LAPSED", 0.2) for i in range(corroborated)
    ]
    rows += [(f"x{i}", "suspected_unreported_death", "SD_CERT_LAPSED", 0.2) for i in range(10)]
    return rows


def test_a_list_the_rules_corroborate_far_above_chance_weighs_its_suspects_evidence_up():
    # 10 of 40 death suspects lapsed, against 20 lapsed persons in 10,000 recipients: the
    # suspects are far likelier than anyone (lift at the Wilson lower end, ~0.14 / 0.002).
    rows = reasons(*death_list(corroborated=10, suspects=40))
    lifts = suspect_lifts(rows, 10_000).collect()
    death = lifts.filter(pl.col("suspect_type") == "death").row(0, named=True)
    assert (death["suspects"], death["corroborated"], death["evidence_persons"]) == (40, 10, 20)
    assert death["lift"] == pytest.approx(0.1419 / 0.002, rel=0.01)
    # Kinds no list names this month stay neutral.
    assert lifts.filter(pl.col("suspect_type") != "death")["lift"].to_list() == [1.0] * 4
    got = corroborate_suspects(rows, lifts.lazy()).collect()
    p = dict(
        got.filter(pl.col("typology") == "suspected_unreported_death")
        .select("person_id", "probability")
        .iter_rows()
    )
    odds = 0.2 / 0.8 * death["lift"]
    assert p["s0"] == pytest.approx(odds / (1 + odds))
    assert p["x0"] == 0.2  # no list names them
    # The suspect's own reason is not evidence of itself; the rows keep their order.
    assert got.filter(pl.col("reason") == "US_SUSPECT_DEATH")["probability"].unique().to_list() == [
        0.006
    ]
    assert got["person_id"].to_list() == rows.collect()["person_id"].to_list()


def test_a_list_the_rules_do_not_corroborate_is_no_evidence_either_way():
    # 1 of 300 suspects lapsed, no more often than anyone (11 lapsed in 5,000): lift 1.
    rows = reasons(*death_list(corroborated=1, suspects=300))
    lifts = suspect_lifts(rows, 5_000).collect()
    assert lifts.filter(pl.col("suspect_type") == "death")["lift"].item() == 1.0
    got = corroborate_suspects(rows, lifts.lazy()).collect()
    assert got["probability"].to_list() == rows.collect()["probability"].to_list()


def test_score_reasons_ranks_a_corroborated_suspect_above_the_same_evidence_alone():
    rows = reasons(*death_list(corroborated=10, suspects=40))
    who = people(
        *[(f"s{i}", "resident") for i in range(40)], *[(f"x{i}", "resident") for i in range(10)]
    )
    rates = reason_base_rates(rows, who, recipients(resident=10_000))
    got = dict(
        score_reasons(rows, who, rates, SHARE, recipients=10_000)
        .collect()
        .select("person_id", "rule_probability")
        .iter_rows()
    )
    assert got["s0"] > 0.9 > 0.2 == pytest.approx(got["x0"])


def test_a_death_suspects_own_life_table_probability_below_the_floor_is_what_the_lift_weighs():
    # The survival rule scores every death suspect (0.01: no recent pass, below the 0.05
    # floor). Those rows are no finding of the rules: the lift counts only the 10 lapsed
    # suspects against the 20 lapsed persons, and it weighs the 0.01 of the others.
    rows = reasons(
        *death_list(corroborated=10, suspects=40),
        *[
            (f"s{i}", "suspected_unreported_death", "SD_NO_RECENT_PASS", 0.01)
            for i in range(10, 40)
        ],
    )
    lifts = suspect_lifts(rows, 10_000, lead_below=0.05).collect()
    death = lifts.filter(pl.col("suspect_type") == "death").row(0, named=True)
    assert (death["suspects"], death["corroborated"], death["evidence_persons"]) == (40, 10, 20)
    # Counted as findings they would corroborate every suspect.
    assert (
        suspect_lifts(rows, 10_000)
        .collect()
        .filter(pl.col("suspect_type") == "death")["corroborated"]
        .item()
        == 40
    )
    who = people(
        *[(f"s{i}", "resident") for i in range(40)], *[(f"x{i}", "resident") for i in range(10)]
    )
    rates = reason_base_rates(rows, who, recipients(resident=10_000))
    got = (
        score_reasons(rows, who, rates, SHARE, 0.05, recipients=10_000)
        .collect()
        .select("person_id", "rule_probability", "tier", "typology")
    )
    p = dict(got.select("person_id", "rule_probability").iter_rows())
    # Above the floor by the list's lift alone: still the list's case (one case a person).
    assert got.filter(pl.col("person_id") == "s20")["typology"].item() == "upstream_suspect"
    odds = 0.01 / 0.99 * death["lift"]
    # Kept beside the suspect's own reason (below the floor it would otherwise be dropped
    # beside another typology), weighed up, and no more than that: noisy-or with the 0.006.
    assert p["s20"] == pytest.approx(1 - (1 - odds / (1 + odds)) * (1 - 0.006))
    assert p["s20"] > p["x0"] == pytest.approx(0.2)


def test_a_death_suspects_own_probability_is_weighed_even_beside_a_common_reason_of_another_typology():
    """Regression: in a county whose payroll lagged a standard change, every resident had an
    off-standard reason; a death suspect's own life-table row, below the floor, was dropped
    beside it, so the list's lift never weighed it and the suspect sank to the common
    reason's discounted prior."""
    rows = reasons(
        *death_list(corroborated=10, suspects=40),
        ("s20", "suspected_unreported_death", "SD_NO_RECENT_PASS", 0.01),
        ("s20", "amount_anomaly", "AA_OFF_STANDARD", 0.3),
        # Below the floor beside another typology, no list naming the person: still dropped.
        ("x9", "suspected_unreported_death", "SD_NO_RECENT_PASS", 0.01),
        ("x9", "amount_anomaly", "AA_OFF_STANDARD", 0.3),
    )
    who = people(
        *[(f"s{i}", "resident") for i in range(40)], *[(f"x{i}", "resident") for i in range(10)]
    )
    rates = reason_base_rates(rows, who, recipients(resident=10_000))
    got = score_reasons(rows, who, rates, SHARE, 0.05, recipients=10_000).collect()
    s20 = got.filter(pl.col("person_id") == "s20").row(0, named=True)
    assert "SD_NO_RECENT_PASS" in s20["reasons"]
    lift = suspect_lifts(reasons(*death_list(10, 40)), 10_000, lead_below=0.05).collect()
    odds = 0.01 / 0.99 * lift.filter(pl.col("suspect_type") == "death")["lift"].item()
    assert s20["rule_probability"] >= odds / (1 + odds)
    assert s20["typology"] == "upstream_suspect"
    x9 = got.filter(pl.col("person_id") == "x9").row(0, named=True)
    assert "SD_NO_RECENT_PASS" not in x9["reasons"]


def test_without_a_corroborating_list_a_death_suspect_below_the_floor_stays_a_lead():
    # 1 of 300 suspects lapsed: lift 1, so the suspect's 0.01 is what it was, below the
    # floor; the person is listed for the answer the list is owed, not as a case of the rules.
    rows = reasons(
        *death_list(corroborated=1, suspects=300),
        ("s5", "suspected_unreported_death", "SD_NO_RECENT_PASS", 0.01),
    )
    who = people(
        *[(f"s{i}", "resident") for i in range(300)], *[(f"x{i}", "resident") for i in range(10)]
    )
    rates = reason_base_rates(rows, who, recipients(resident=5_000))
    got = score_reasons(rows, who, rates, SHARE, 0.05, recipients=5_000).collect()
    s5 = got.filter(pl.col("person_id") == "s5").row(0, named=True)
    # (The list names 6% of the recipients: its own reason is discounted as common.)
    assert 0.01 < s5["rule_probability"] < 0.05
    assert s5["tier"] == TIER_NONE
    # The list's case, not a finding: the same case next month whatever the life table adds.
    assert s5["typology"] == "upstream_suspect"


def test_audit_order_reopened_then_proof_and_likely_signals_by_yuan_then_soft_signals():
    cases = pl.LazyFrame(
        [
            ("soft_rich", TIER_SIGNAL, "new", 0.3, 9000.0),
            ("likely_rich", TIER_SIGNAL, "new", 0.7, 700.0),
            ("proof_small", TIER_PROOF, "new", 0.9, 10.0),
            ("proof_unlikely", TIER_PROOF, "new", 0.05, 1.0),
            ("reopened", TIER_SIGNAL, "reopened", 0.2, 5.0),
            ("soft_b", TIER_SIGNAL, "new", 0.3, 50.0),
            ("soft_a", TIER_SIGNAL, "new", 0.3, 50.0),
            ("soft_likely", TIER_SIGNAL, "new", 0.45, 4.5),
            ("lead", TIER_NONE, "new", 0.49, 90.0),
        ],
        schema={
            "person_id": pl.String,
            "tier": pl.Int8,
            "status": pl.String,
            "risk_score": pl.Float64,
            "expected_recovery": pl.Float64,
        },
        orient="row",
    ).with_columns(typology=pl.lit("amount_anomaly"))
    got = rank_cases(cases).collect()
    assert got["person_id"].to_list() == [
        # A model that learned to doubt a proof never drops it below the soft signals; soft
        # signals go most probable first, the yuan deciding only between equals.
        "reopened",
        "likely_rich",
        "proof_small",
        "proof_unlikely",
        "soft_likely",
        "soft_rich",
        "soft_a",
        "soft_b",
        "lead",
    ]
    assert got["priority_rank"].to_list() == list(range(1, 10))
    assert got["tier"][0] == TIER_REOPENED


def test_a_case_whose_pension_was_terminated_goes_after_every_case_that_needs_a_visit():
    cases = pl.LazyFrame(
        {
            "person_id": ["settled", "lead", "soft"],
            "tier": [TIER_PROOF, TIER_NONE, TIER_SIGNAL],
            "status": ["payments_stopped", "new", "new"],
            "risk_score": [0.98, 0.05, 0.1],
            "expected_recovery": [9000.0, 5.0, 10.0],
            "pension_terminated": [True, None, False],
            "typology": "suspected_unreported_death",
        },
        schema_overrides={"tier": pl.Int8},
    )
    assert rank_cases(cases).collect()["person_id"].to_list() == ["soft", "lead", "settled"]


@pytest.mark.parametrize("order", [[0, 1], [1, 0]])
def test_a_person_s_two_cases_tied_in_every_key_go_by_typology_whatever_their_rows(
    order: list[int],
):
    """A person carried under two typologies at one expected recovery: their order must not
    follow the row order (nor the case IDs, which are keyed per output folder)."""
    cases = pl.DataFrame(
        {
            "person_id": ["p1", "p1"],
            "typology": ["upstream_suspect", "suspected_unreported_death"],
            "tier": [TIER_SIGNAL, TIER_SIGNAL],
            "status": ["payments_stopped", "payments_stopped"],
            "risk_score": [0.3, 0.3],
            "expected_recovery": [0.0, 0.0],
        },
        schema_overrides={"tier": pl.Int8},
    )[order]
    got = rank_cases(cases.lazy()).collect()
    assert got["typology"].to_list() == ["suspected_unreported_death", "upstream_suspect"]
