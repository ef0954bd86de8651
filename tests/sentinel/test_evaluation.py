"""Evaluation table: detection against baselines on a small generated county."""

from __future__ import annotations

import polars as pl
import pytest

from sentinel.config import load_config
from sentinel.detection import detect_cases
from sentinel.evaluation import BASELINES, demo_history, evaluate


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
