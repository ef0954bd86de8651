"""Which model scores a month: the rules alone until outcomes arrive, then the rules
corrected by them, each outcome read with the evidence its case was listed with."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from features.cases import MODEL_FEATURES
from sentinel.config import load_config
from sentinel.risk import RULES_VERSION, choose_risk_model, outcome_labels, training_rows

CONFIG = load_config()


def _inputs(month: str, persons: list[str], prior: float, lapsed: bool) -> pl.DataFrame:
    """Model inputs of listed cases (every feature 0 but the prior and one reason)."""
    rows = {c: [0.0] * len(persons) for c in MODEL_FEATURES}
    rows["rule_probability"] = [prior] * len(persons)
    rows["reason:SD_CERT_LAPSED"] = [1.0 if lapsed else 0.0] * len(persons)
    return pl.DataFrame({"person_id": persons, "month": [month] * len(persons), **rows})


def _outcomes(persons: list[str], outcome: str, closed: date) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "case_id": [f"C-{p}" for p in persons],
            "person_id": persons,
            "closed_on": [closed] * len(persons),
            "outcome": [outcome] * len(persons),
            "month": [closed.strftime("%Y-%m")] * len(persons),
        }
    )


def test_labels_keep_each_persons_latest_outcome_and_leave_out_unreachable():
    outcomes = pl.concat(
        [
            _outcomes(["a", "b"], "cleared", date(2020, 2, 10)),
            _outcomes(["a"], "confirmed_deceased", date(2020, 3, 10)),
            _outcomes(["c"], "unreachable", date(2020, 3, 10)),
        ]
    )
    labels = outcome_labels(outcomes.lazy()).collect().sort("person_id")
    assert labels.rows() == [("a", 1, "2020-03"), ("b", 0, "2020-02")]


def test_an_outcome_is_read_with_the_inputs_listed_before_the_audit_and_weighted():
    inputs = pl.concat(
        [
            _inputs("2020-01", ["a", "b"], 0.9, lapsed=True),
            # After the audit the case looks different: not what the auditors saw.
            _inputs("2020-03", ["a"], 0.1, lapsed=False),
        ]
    )
    labels = outcome_labels(_outcomes(["a", "b"], "cleared", date(2020, 2, 10)).lazy())
    selections = pl.DataFrame(
        {"person_id": ["b"], "month": ["2020-01"], "selection_probability": [0.02]}
    )
    train = training_rows(labels, inputs.lazy(), selections.lazy(), max_weight=10.0)
    assert train.select("person_id", "month", "label", "weight").rows() == [
        ("a", "2020-01", 0, 1.0),
        ("b", "2020-01", 0, 10.0),  # 1 / 0.02 = 50, clipped
    ]
    assert train["rule_probability"].to_list() == [0.9, 0.9]


def test_without_outcomes_the_rules_stand(tmp_path: Path):
    empty = pl.DataFrame(schema={"person_id": pl.String, "label": pl.Int8})
    choice = choose_risk_model(empty, tmp_path, "2020-02", CONFIG)
    assert choice.version == RULES_VERSION and choice.load() is None
    assert list(tmp_path.iterdir()) == []


def test_outcomes_train_a_versioned_model_once_that_lowers_a_cleared_reason(tmp_path: Path):
    inputs = pl.concat(
        [
            _inputs("2020-01", [f"l{i}" for i in range(30)], 0.9, lapsed=True),
            _inputs("2020-02", [f"d{i}" for i in range(10)], 0.9, lapsed=False),
        ]
    )
    outcomes = pl.concat(
        [
            _outcomes([f"l{i}" for i in range(30)], "cleared", date(2020, 2, 10)),
            _outcomes([f"d{i}" for i in range(10)], "confirmed_deceased", date(2020, 3, 10)),
        ]
    )
    none = pl.DataFrame(schema={"person_id": pl.String, "month": pl.String, "selection_probability": pl.Float64})
    train = training_rows(outcome_labels(outcomes.lazy()), inputs.lazy(), none.lazy(), 10.0)
    choice = choose_risk_model(train, tmp_path, "2020-03", CONFIG)
    assert choice.version.startswith("learned-2020-03-")
    card = json.loads((choice.directory / "model_card.json").read_text())
    assert card["training_months"] == ["2020-01", "2020-02"]
    stamp = (choice.directory / "model_card.json").stat().st_mtime_ns
    assert choose_risk_model(train, tmp_path, "2020-03", CONFIG) == choice
    assert (choice.directory / "model_card.json").stat().st_mtime_ns == stamp  # reused
    model = choice.load()
    lapsed, other = model.predict_proba(
        pl.concat([_inputs("2020-03", ["x"], 0.9, True), _inputs("2020-03", ["y"], 0.9, False)])
        .select(MODEL_FEATURES)
        .to_numpy()
    )[:, 1]
    assert lapsed < 0.3 < 0.8 < other


@pytest.mark.parametrize("closed", [date(2020, 1, 31)])
def test_an_outcome_closed_before_any_listing_teaches_nothing(closed: date):
    inputs = _inputs("2020-02", ["a"], 0.9, lapsed=True)
    labels = outcome_labels(_outcomes(["a"], "cleared", closed).lazy())
    none = pl.DataFrame(schema={"person_id": pl.String, "month": pl.String, "selection_probability": pl.Float64})
    assert training_rows(labels, inputs.lazy(), none.lazy(), 10.0).height == 0


def test_months_kept_before_a_reason_code_existed_read_it_as_not_fired():
    """An upgrade adds a reason code: the model inputs kept from earlier months lack its
    indicator, and training reads them as 0 instead of failing."""
    newest = next(f for f in MODEL_FEATURES if f.startswith("reason:"))
    old = _inputs("2020-01", ["a", "b"], 0.9, lapsed=True).drop(newest)
    labels = outcome_labels(_outcomes(["a", "b"], "cleared", date(2020, 2, 10)).lazy())
    train = training_rows(labels, old.lazy(), pl.LazyFrame(schema={"person_id": pl.String, "month": pl.String, "selection_probability": pl.Float64}), max_weight=10.0)
    assert train[newest].to_list() == [0.0, 0.0]
