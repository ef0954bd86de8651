"""One truth about survival certification: the suspension list and detection read the same
state, and the evidence states only what the data holds."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from features.certification import certification_state
from features.history import register_people
from features.suspension import suspension_list
from sentinel.config import load_config
from sentinel.demo import WORLDS, generate_county, world
from sentinel.detection import month_register_runs, prepare_month, prepared_rule_reasons
from sentinel.evaluation import demo_history
from sentinel.periods import month_number, period_of_index

CONFIG = load_config()
CYCLE = CONFIG.policy.suspend_after_months
EVERY_SENTENCE = CONFIG.model_copy(
    update={
        "detection": CONFIG.detection.model_copy(update={"min_suspected_death_probability": 0.0})
    }
)


def state(people: list[dict], passes: list[tuple[str, date]], month: str) -> dict[str, dict]:
    frame = pl.LazyFrame(
        people,
        schema={"person_id": pl.String, "benefit_start": pl.Date, "first_listed": pl.String},
    )
    certs = pl.LazyFrame(
        {
            "person_id": [p[0] for p in passes],
            "cert_date": [p[1] for p in passes],
            "method": ["face_app"] * len(passes),
            "result": ["pass"] * len(passes),
        },
        schema={
            "person_id": pl.String,
            "cert_date": pl.Date,
            "method": pl.String,
            "result": pl.String,
        },
    )
    got = certification_state(frame, certs, month, CYCLE).collect()
    return {r["person_id"]: r for r in got.iter_rows(named=True)}


def test_a_pass_in_the_history_is_known_and_counted_exactly():
    got = state(
        [{"person_id": "A", "benefit_start": date(2010, 1, 1), "first_listed": "2020-01"}],
        [("A", date(2020, 2, 10))],
        "2021-03",
    )["A"]
    assert (got["pass_known"], got["bounded"], got["months_since_verified"], got["lapsed"]) == (
        True,
        False,
        13,
        True,
    )


def test_without_a_pass_recorded_the_months_are_a_lower_bound():
    got = state(
        [{"person_id": "B", "benefit_start": date(2010, 1, 1), "first_listed": "2020-01"}],
        [],
        "2020-07",
    )["B"]
    assert (got["bounded"], got["months_since_verified"], got["recorded_since"], got["lapsed"]) == (
        True,
        7,
        "2020-01",
        False,
    )
    # The claim itself, made in person within the history, is a known verification.
    new = state(
        [{"person_id": "C", "benefit_start": date(2020, 3, 1), "first_listed": "2020-03"}],
        [],
        "2020-07",
    )["C"]
    assert (new["bounded"], new["months_since_verified"]) == (False, 4)


def _world(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    chosen = world(name)
    dest = tmp_path_factory.mktemp(f"cert-{name}")
    generate_county(
        dest,
        seed=2,
        scale=0.01,
        months=14,
        rates=chosen.rates,
        phenomena=chosen.phenomena,
        formats="parquet",
    )
    return dest


@pytest.mark.slow
@pytest.mark.parametrize("name", list(WORLDS))
def test_the_suspension_list_and_detection_agree_in_every_world(
    name: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    dest = _world(tmp_path_factory, name)
    stated = 0
    for month in ("2020-06", "2020-12", "2021-01", "2021-02"):
        history = demo_history(dest, month)
        prep = prepare_month(history, CONFIG)
        evidence = prep.evidence.collect()
        snapshot = history.register.filter(pl.col("month") == month)
        suspended = suspension_list(
            snapshot,
            history.certifications,
            register_people(month_register_runs(history)),
            month=month,
            suspend_after_months=CYCLE,
        ).collect()
        active = (
            snapshot.filter(pl.col("status") == "active").select("person_id").unique().collect()
        )
        lapsed = evidence.filter(pl.col("lapsed")).join(active, on="person_id", how="semi")
        to_suspend = suspended.filter(pl.col("action") == "suspend")
        assert set(lapsed["person_id"]) == set(to_suspend["person_id"]), month

        # Evidence about certification states what the state holds, no more (every paid
        # person's sentences: no probability floor).
        reasons = prepared_rule_reasons(prep, EVERY_SENTENCE).collect()
        by_person = {r["person_id"]: r for r in evidence.iter_rows(named=True)}
        now = month_number(month)
        for row in reasons.filter(
            pl.col("reason").is_in(["SD_CERT_LAPSED", "SD_NO_PASS_IN_HISTORY", "SD_NO_RECENT_PASS"])
        ).iter_rows(named=True):
            person = by_person[row["person_id"]]
            facts = row["facts"]
            stated += 1
            if row["reason"] == "SD_CERT_LAPSED":
                months, last, _ = facts
                assert person["lapsed"] and not person["bounded"]
                assert int(months) == now - person["verified_index"]
                assert last == _period(person["verified_index"])
            else:
                since, months, _ = facts
                assert person["bounded"] and person["pass_index"] is None
                assert since == person["recorded_since"]
                assert int(months) == now - month_number(since) + 1
                assert (row["reason"] == "SD_NO_PASS_IN_HISTORY") == person["lapsed"]
        for row in reasons.filter(pl.col("reason") == "SD_MORTALITY").iter_rows(named=True):
            person = by_person[row["person_id"]]
            recorded = {
                person[c]
                for c in ("strong_index", "data_match_index", "pass_index", "prior_pass_index")
                if person[c] is not None
            }
            assert month_number(row["facts"][1]) in recorded
    assert stated > 0


def _period(index: int) -> str:
    return pl.select(period_of_index(pl.lit(index, dtype=pl.Int32))).item()
