"""The model used for a month: unsupervised until audit outcomes allow a supervised one."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from sentinel.config import load_config
from sentinel.detection import detect_cases
from sentinel.evaluation import demo_history
from sentinel.risk import UNSUPERVISED_VERSION, choose_risk_model

pytestmark = pytest.mark.slow
MONTH = "2020-04"


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sentinel.demo import generate_county

    dest = tmp_path_factory.mktemp("risk")
    generate_county(dest, seed=3, scale=0.02, months=4, formats="parquet")
    return dest


def audit_outcomes(county: Path, n_confirmed: int, n_cleared: int) -> pl.LazyFrame:
    """Outcomes as an audit unit would report them: confirmed improper persons from the
    ground truth, cleared persons drawn from the proper ones (generated people only)."""
    truth = pl.read_parquet(county / "truth" / "people.parquet")
    confirmed = truth.filter(pl.col("is_improper")).unique("person_id").sort("person_id").head(n_confirmed)
    cleared = truth.filter(~pl.col("is_improper")).unique("person_id").sort("person_id").head(n_cleared)
    rows = pl.concat(
        [
            confirmed.select("person_id", pl.lit("confirmed_improper").alias("outcome")),
            cleared.select("person_id", pl.lit("cleared").alias("outcome")),
        ]
    ).with_row_index("i")
    return rows.select(
        pl.format("C-{}", pl.col("i")).alias("case_id"),
        "person_id",
        pl.lit(date(2020, 3, 20)).alias("closed_on"),
        "outcome",
        pl.lit(None, dtype=pl.Date).alias("death_date"),
        pl.lit(0.0).alias("overpaid_amount"),
        pl.lit(0.0).alias("recovered_amount"),
        pl.when(pl.col("i") % 2 == 0).then(pl.lit("2020-02")).otherwise(pl.lit("2020-03")).alias("month"),
    ).lazy()


def test_without_enough_outcomes_the_unsupervised_scorer_is_used(county: Path, tmp_path: Path) -> None:
    history = replace(demo_history(county, MONTH), outcomes=audit_outcomes(county, 3, 3))
    choice = choose_risk_model(history, tmp_path, load_config())
    assert choice.version == UNSUPERVISED_VERSION and choice.load() is None
    assert list(tmp_path.iterdir()) == []


def test_enough_outcomes_train_a_versioned_model_once(county: Path, tmp_path: Path) -> None:
    config = load_config()
    history = replace(demo_history(county, MONTH), outcomes=audit_outcomes(county, 20, 30))
    choice = choose_risk_model(history, tmp_path, config)
    assert choice.version.startswith(f"supervised-{MONTH}-")
    card = json.loads((choice.directory / "model_card.json").read_text())
    assert card["training_months"] == ["2020-02", "2020-03"]
    assert "held_out_outcomes" in card["metrics_held_out"]
    stamp = (choice.directory / "model_card.json").stat().st_mtime_ns
    again = choose_risk_model(history, tmp_path, config)
    assert again == choice
    assert (choice.directory / "model_card.json").stat().st_mtime_ns == stamp  # reused, not retrained
    cases = detect_cases(history, config, model=choice.load()).collect()
    assert cases.height > 0 and cases["risk_score"].is_between(0, 1).all()
