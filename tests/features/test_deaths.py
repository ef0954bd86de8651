"""Death records (features/deaths.py): the deceased_paid rule family, and the links that
are only leads (a name alone, or a probable record below proof), on small hand-made frames."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the shared hand-made frames (importlib mode)
from detection_frames import (  # noqa: E402
    CONFIG,
    DEATH_SCHEMA,
    SPAN,
    _flagged,
    _reasons,
    death_record,
    history,
    make_id,
    paid_throughout,
    person,
    register_over,
    regular_payouts,
)

from features.deaths import scale_just_arrived, unacted_shares  # noqa: E402
from sentinel.detection import find_candidates, prepare_month, prepared_rule_reasons  # noqa: E402


def test_deceased_paid_flags_payment_after_linked_death_not_before():
    dead = person(make_id("19400101", 11), "王建国", "M", date(1940, 1, 1))
    alive = person(make_id("19420202", 22), "李秀英", "F", date(1942, 2, 2))
    deaths = pl.DataFrame(
        [death_record(dead, date(2020, 3, 5), date(2020, 4, 1))], schema=DEATH_SCHEMA
    )
    h = paid_throughout([dead, alive], SPAN, deaths=deaths)
    reasons = _reasons(h)
    assert _flagged(reasons, "deceased_paid") == {dead["person_id"]}
    row = reasons.filter(pl.col("reason") == "DP_PAID_AFTER_DEATH").row(0, named=True)
    assert row["est_overpayment"] == pytest.approx(9 * 120.0)  # periods 2020-04..2020-12
    assert row["probability"] > 0.9


def test_deceased_paid_ignores_routine_reporting_lag():
    # Died in March, record received after the April payroll cut-off, April paid, then stopped.
    dead = person(make_id("19400101", 11), "王建国", "M", date(1940, 1, 1))
    deaths = pl.DataFrame(
        [death_record(dead, date(2020, 3, 5), date(2020, 4, 20))], schema=DEATH_SCHEMA
    )
    register = register_over([dead], SPAN).with_columns(
        pl.when(pl.col("month") >= "2020-05")
        .then(pl.lit("terminated"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    h = history("2020-12", register, regular_payouts([dead], SPAN[:4]), deaths=deaths)
    # The register terminated the pension: recovered by procedure, not a field visit.
    assert _flagged(_reasons(h), "deceased_paid") == set()


def test_deceased_paid_mistyped_record_unacted_although_suspended_is_flagged():
    """Regression: the record's ID was mistyped, nobody terminated the pension, and payment
    stopped only because certification lapsed (suspension recovers nothing)."""
    dead = person(make_id("19400101", 11), "王建国", "M", date(1940, 1, 1))
    pid = dead["person_id"]
    mistyped = {**dead, "person_id": pid[:8] + pid[9] + pid[8] + pid[10:]}
    record = death_record(
        mistyped, date(2020, 3, 5), date(2020, 5, 17), record_id="MZ1", source="civil_affairs"
    )
    deaths = pl.DataFrame([record], schema=DEATH_SCHEMA)
    register = register_over([dead], SPAN).with_columns(
        pl.when(pl.col("month") >= "2020-06")
        .then(pl.lit("suspended"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    reasons = _reasons(
        history("2020-12", register, regular_payouts([dead], SPAN[:5]), deaths=deaths)
    )
    row = reasons.filter(pl.col("reason") == "DP_PAID_AFTER_DEATH").row(0, named=True)
    assert row["person_id"] == dead["person_id"] and row["probability"] > 0.9
    assert row["est_overpayment"] == pytest.approx(2 * 120.0)  # April and May


def _just_arrived(h) -> dict[str, float]:
    """``DP_RECORD_JUST_ARRIVED`` persons of the month and the probability of their case,
    once the county's records are counted (as the ranking step scales them)."""
    findings = find_candidates(prepare_month(h, CONFIG), CONFIG)
    reasons = scale_just_arrived(findings.reasons, unacted_shares(findings.unacted)).collect()
    arrived = reasons.filter(pl.col("reason") == "DP_RECORD_JUST_ARRIVED")["person_id"]
    rows = reasons.filter(
        (pl.col("reason") == "DP_PAID_AFTER_DEATH") & pl.col("person_id").is_in(arrived.implode())
    )
    return dict(zip(rows["person_id"], rows["probability"], strict=True))


def _mistyped(p: dict) -> dict:
    """``p`` with two digits of the ID swapped, as a death record may carry it."""
    pid = p["person_id"]
    return {**p, "person_id": pid[:8] + pid[9] + pid[8] + pid[10:]}


#: A death record received after the December payroll of SPAN: no payroll could act on it.
LATE = (date(2020, 11, 2), date(2020, 12, 20))
#: An earlier death, its record received before the April payroll.
EARLIER = (date(2020, 3, 5), date(2020, 4, 3))


def test_deceased_paid_record_after_this_months_payroll_waits_at_even_odds_without_history():
    """With no earlier record to learn from, whether the centre will act is even odds."""
    dead = person(make_id("19400101", 11), "王建国", "M", date(1940, 1, 1))
    deaths = pl.DataFrame([death_record(dead, *LATE)], schema=DEATH_SCHEMA)
    arrived = _just_arrived(paid_throughout([dead], SPAN, deaths=deaths))
    assert arrived == {
        dead["person_id"]: pytest.approx(CONFIG.detection.deceased_paid_probability * 0.5)
    }


def test_a_just_arrived_record_waits_low_where_the_centre_acted_on_earlier_ones():
    """Three earlier ID-matched records stopped at the next payroll: a fourth that has just
    arrived will most likely be acted on too, so it waits far below proof."""
    earlier = [
        person(make_id("19380101", 10 + i), f"张{i}", "M", date(1938, 1, 1)) for i in range(3)
    ]
    dead = person(make_id("19400101", 11), "王建国", "M", date(1940, 1, 1))
    deaths = pl.DataFrame(
        [death_record(p, *EARLIER, record_id=f"GA{i}") for i, p in enumerate(earlier)]
        + [death_record(dead, *LATE, record_id="GA9")],
        schema=DEATH_SCHEMA,
    )
    register = register_over([*earlier, dead], SPAN)
    pay = regular_payouts(earlier, SPAN[:3]).vstack(regular_payouts([dead], SPAN))
    arrived = _just_arrived(history("2020-12", register, pay, deaths=deaths))
    share = (0 + 0.5) / (3 + 1)  # none of three unacted, Jeffreys prior
    assert arrived == {
        dead["person_id"]: pytest.approx(CONFIG.detection.deceased_paid_probability * share)
    }


def test_a_just_arrived_mistyped_record_ranks_high_where_the_centre_missed_earlier_ones():
    """Two earlier records with mistyped IDs were never acted on (the centre's matching did
    not see them): a new mistyped record will not be either, while an ID-matched one keeps
    the even odds of its own kind, which the county has no history of."""
    missed = [
        person(make_id("19380101", 10 + i), f"张{i}", "M", date(1938, 1, 1)) for i in range(2)
    ]
    typo_dead = person(make_id("19400101", 11), "王建国", "M", date(1940, 1, 1))
    id_dead = person(make_id("19410101", 31), "李秀英", "F", date(1941, 1, 1))
    deaths = pl.DataFrame(
        [death_record(_mistyped(p), *EARLIER, record_id=f"MZ{i}") for i, p in enumerate(missed)]
        + [
            death_record(_mistyped(typo_dead), *LATE, record_id="MZ9"),
            death_record(id_dead, *LATE, record_id="GA9"),
        ],
        schema=DEATH_SCHEMA,
    )
    arrived = _just_arrived(paid_throughout([*missed, typo_dead, id_dead], SPAN, deaths=deaths))
    p = CONFIG.detection.deceased_paid_probability
    assert arrived[id_dead["person_id"]] == pytest.approx(p * 0.5)
    assert arrived[typo_dead["person_id"]] > 0.6  # (2 + 0.5) / (2 + 1) of its link confidence
    assert arrived[typo_dead["person_id"]] > arrived[id_dead["person_id"]]


def test_deceased_paid_already_terminated_is_not_a_field_case_still_active_is():
    """Regression: a death the register already terminated is recovered administratively;
    the same payments to a pension still active need a field visit."""
    terminated = person(make_id("19400101", 11), "王建国", "M", date(1940, 1, 1))
    active = person(make_id("19400101", 31), "王建军", "M", date(1940, 1, 1))
    register = register_over([terminated, active], SPAN).with_columns(
        pl.when((pl.col("person_id") == terminated["person_id"]) & (pl.col("month") >= "2020-07"))
        .then(pl.lit("terminated"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    pay = regular_payouts([terminated], SPAN[:7]).vstack(regular_payouts([active], SPAN))
    deaths = pl.DataFrame(
        [
            death_record(
                p, date(2020, 3, 5), date(2020, 4, 1), record_id=f"GA-{p['person_id'][-4:]}"
            )
            for p in (terminated, active)
        ],
        schema=DEATH_SCHEMA,
    )
    reasons = _reasons(history("2020-12", register, pay, deaths=deaths))
    p = dict(
        reasons.filter(pl.col("reason") == "DP_PAID_AFTER_DEATH")
        .select("person_id", "probability")
        .iter_rows()
    )
    assert p[active["person_id"]] > 0.9
    assert terminated["person_id"] not in p


def _name_only_death(p: dict) -> pl.DataFrame:
    """A death record with only the name of ``p``: no ID, sex or birth date."""
    return pl.DataFrame(
        [
            death_record(
                p,
                date(2020, 6, 8),
                date(2020, 6, 25),
                record_id="GA9",
                person_id=None,
                sex=None,
                birth_date=None,
            )
        ],
        schema=DEATH_SCHEMA,
    )


def test_name_only_death_record_is_a_lead_not_proof():
    """A record with only a name is never a death link, but raises a suspected death."""
    rare = person(make_id("19360312", 22), "何霞翠", "F", date(1936, 3, 12))
    reasons = _reasons(paid_throughout([rare], SPAN, deaths=_name_only_death(rare)))
    assert _flagged(reasons, "deceased_paid") == set()
    lead = reasons.filter(pl.col("reason") == "SD_SAME_NAME_DEATH_RECORD")
    assert lead["person_id"].to_list() == [rare["person_id"]]
    assert lead["est_overpayment"].item() == pytest.approx(6 * 120.0)  # 2020-07..2020-12


def test_name_only_death_record_matching_two_pensioners_raises_nobody():
    one = person(make_id("19360312", 22), "何霞翠", "F", date(1936, 3, 12))
    two = person(make_id("19400101", 42), "何霞翠", "F", date(1940, 1, 1), village="白沙村")
    reasons = _reasons(paid_throughout([one, two], SPAN, deaths=_name_only_death(one)))
    assert reasons.filter(pl.col("reason") == "SD_SAME_NAME_DEATH_RECORD").height == 0


def _record_linked_at(confidence: float) -> pl.LazyFrame:
    """The linker's verdict on record GA7 (:func:`features.deaths.link_deaths`): its best
    candidate is 王秀兰 with ``confidence``; her ID and name were typed wrong in it."""
    return pl.LazyFrame(
        [
            {
                "record_id": "GA7",
                "person_id": make_id("19380404", 24),
                "confidence": confidence,
                "method": "probabilistic",
                "disagreed": ["person_id"],
            }
        ],
        schema={
            "record_id": pl.String,
            "person_id": pl.String,
            "confidence": pl.Float64,
            "method": pl.String,
            "disagreed": pl.List(pl.String),
        },
    )


@pytest.mark.parametrize(
    ("confidence", "expected"), [(0.97, "proof"), (0.8, "lead"), (0.3, "nothing")]
)
def test_a_record_more_likely_a_pensioner_than_not_is_a_lead_below_proof(confidence, expected):
    """Proof at ``min_death_link_confidence``; from even odds (``min_death_lead_confidence``)
    a lead whose probability is the link's, topped up by what the person shows without it."""
    her = person(make_id("19380404", 24), "王秀兰", "F", date(1938, 4, 4))
    typed_wrong = {**her, "person_id": her["person_id"][:-3] + "999", "name": "王秀岚"}
    record = death_record(
        typed_wrong, date(2020, 6, 8), date(2020, 6, 25), record_id="GA7", source="health"
    )
    h = paid_throughout([her], SPAN, deaths=pl.DataFrame([record], schema=DEATH_SCHEMA))
    reasons = prepared_rule_reasons(
        prepare_month(h, CONFIG, links=_record_linked_at(confidence)), CONFIG
    ).collect()
    lead = reasons.filter(pl.col("reason") == "SD_PROBABLE_DEATH_RECORD")
    if expected == "proof":
        assert _flagged(reasons, "deceased_paid") == {her["person_id"]} and lead.height == 0
    elif expected == "lead":
        assert _flagged(reasons, "deceased_paid") == set()
        assert lead["person_id"].to_list() == [her["person_id"]]
        assert confidence <= lead["probability"].item() < 1.0
        assert lead["est_overpayment"].item() == pytest.approx(6 * 120.0)  # paid 2020-07..2020-12
        assert "80%" in lead["facts"].item()
    else:
        assert lead.height == 0 and _flagged(reasons, "deceased_paid") == set()
