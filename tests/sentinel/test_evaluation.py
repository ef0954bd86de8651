"""Evaluation table: detection against baselines on a small generated county."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from sentinel.config import load_config
from sentinel.detection import detect_cases
from sentinel.evaluation import BASELINES, custody_check, demo_history, evaluate


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    from sentinel.demo import generate_county

    dest = tmp_path_factory.mktemp("eval-county")
    generate_county(dest, seed=5, scale=0.02, formats="parquet")
    history = demo_history(dest, "2020-12")
    cases = detect_cases(history, load_config()).collect()
    return evaluate(cases, dest / "truth", "2020-12", history, capacity=60)


def test_table_has_methods_as_columns_and_metrics_as_rows(table: pl.DataFrame):
    assert table.columns == ["metric", "detection", *BASELINES]
    for k in (25, 50, 60, 200):
        assert f"precision@{k}" in table["metric"].to_list()


def test_detection_beats_every_baseline_and_links_no_death_falsely(table: pl.DataFrame):
    row = {m: v for m, *v in table.iter_rows()}
    detection, *baselines = row["overpaid_share@60"]
    assert all(detection > b for b in baselines)
    assert row["false_death_links"][0] == 0
    assert row["deceased_paid_recall"][0] >= 0.7  # few deaths in a tiny county


def test_custody_check_wants_the_right_overpayment_and_no_probationer_listed_for_pay(tmp_path: Path) -> None:
    pl.DataFrame(
        {"person_id": ["p", "p", "q"], "scheme": ["resident"] * 3, "period": ["2020-04", "2020-05", "2020-05"],
         "pay_month": ["2020-04", "2020-05", "2020-05"], "amount": [120.0, 120.0, 60.0],
         "typology": ["custody_paid", "custody_paid", "custody_paid"]}
    ).write_parquet(tmp_path / "overpayments.parquet")
    pl.DataFrame(
        {"record_id": ["JY1", "FY1", "JY2"], "true_person_id": ["p", "h", "q"],
         "kind": ["imprisonment", "probation", "imprisonment"], "start_date": [date(2020, 3, 5)] * 3,
         "end_date": [None, None, None], "received_on": [date(2020, 3, 20), date(2020, 3, 20), date(2020, 5, 30)],
         "id_mistyped": [False, False, False]},
        schema_overrides={"end_date": pl.Date},
    ).write_parquet(tmp_path / "custody_records.parquet")
    cases = pl.DataFrame(
        {"person_id": ["p", "h"], "typology": ["custody_paid", "custody_paid"], "est_overpayment": [240.0, 300.0],
         "reasons": ["CP_PAID_IN_PRISON", "CP_PAID_IN_DETENTION"]}
    )
    assert custody_check(cases, tmp_path, "2020-05") == {"custody_listed": 0.5, "probation_listed_for_pay": 1.0}
    assert custody_check(cases.head(1), tmp_path, "2020-05")["probation_listed_for_pay"] == 0.0
    # q's record arrived in May: not due in April, when p's was already.
    assert custody_check(cases, tmp_path, "2020-04")["custody_listed"] == 0.0  # p listed for 240, due 120
    assert custody_check(cases.with_columns(pl.lit(120.0).alias("est_overpayment")), tmp_path, "2020-04")[
        "custody_listed"
    ] == 1.0
