"""The simulated audit unit and the grid of worlds, end to end on small worlds: the visits,
their true outcomes going back through the next month's ``outcomes.csv``, the comparison
with an all-knowing auditor, and the grid table."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from sentinel.cli import app
from sentinel.evaluation import improper_as_of
from sentinel.grid import GRID_COLUMNS
from sentinel.simulation import (
    AUDIT_COLUMNS,
    SUSPECT_COLUMNS,
    _visits,
    plot_audit_curve,
    visit_outcomes,
)

runner = CliRunner()


def test_visits_take_the_chosen_then_the_top_skipping_the_visited_and_reopened():
    cases = pl.DataFrame(
        {
            "case_id": ["a", "b", "c", "d", "e", "f"],
            "person_id": ["pa", "pb", "pc", "pd", "pe", "pf"],
            "priority_rank": [1, 2, 3, 4, 5, 6],
            "status": ["reopened", "new", "carried", "new", "new", "new"],
            "audit_selection": [None, "priority", "priority", None, "exploration", None],
        }
    )
    got = _visits(cases, visited={"pc"}, capacity=3)
    # The chosen first (b, then e drawn below the cut), then the top of the rest (d); the
    # reopened case is the centre's to act on, the visited person is not visited again.
    assert got["case_id"].to_list() == ["b", "e", "d"]


def test_visit_outcomes_are_the_truth_of_the_visited(tiny_county: Path):
    month = "2020-03"
    improper = improper_as_of(tiny_county / "truth", month)
    people = pl.read_parquet(tiny_county / "truth" / "people.parquet")
    honest = people.filter(~pl.col("person_id").is_in(improper["person_id"].implode()))
    visits = pl.DataFrame(
        {
            "case_id": ["bad", "good"],
            "person_id": [improper["person_id"][0], honest["person_id"][0]],
        }
    )
    got = visit_outcomes(visits, tiny_county / "truth", month, date(2020, 4, 15))
    rows = {r["case_id"]: r for r in got.iter_rows(named=True)}
    assert rows["bad"]["outcome"] in ("confirmed_deceased", "confirmed_improper")
    assert rows["bad"]["overpaid_amount"] == pytest.approx(improper["overpaid"][0], abs=0.01)
    assert rows["good"]["outcome"] == "cleared"
    assert rows["good"]["overpaid_amount"] is None
    assert rows["bad"]["closed_on"] == date(2020, 4, 15)


def test_the_plot_has_a_panel_per_world(tmp_path: Path):
    table = pl.DataFrame(
        {"month": ["2020-01", "2020-02"], "found": [3, 2], "oracle": [5, 2]}
    )
    path = plot_audit_curve({"a": table, "b": table, "c": table, "d": table}, tmp_path / "c.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_the_simulated_unit_learns_through_the_outcomes_path(tmp_path: Path):
    work, table_csv, png = tmp_path / "work", tmp_path / "sim.csv", tmp_path / "curve.png"
    result = runner.invoke(
        app,
        [
            "evaluate", "--simulate-audits", "--world", "reference", "--scale", "0.01",
            "--work", str(work), "--save", str(table_csv), "--plot", str(png),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pl.read_csv(table_csv, schema_overrides={"month": pl.String})
    assert table.columns == ["world", *AUDIT_COLUMNS]
    assert table.height == 12
    assert (table["found"] <= table["visits"]).all()
    assert (table["visits"] <= 56).all()
    # The oracle visits each improper person once: over the year it finds them all.
    truth = work / "reference-7" / "truth"
    assert table["oracle"].sum() == improper_as_of(truth, "2020-12").height
    # Each month's visits came back as the next month's outcomes, the real path, and the
    # risk model learned from them from the second month on.
    audited = work / "reference-7" / "audited"
    outcomes = pl.read_csv(audited / "inbox" / "2020-02" / "outcomes.csv")
    assert outcomes.height == table.filter(pl.col("month") == "2020-01")["visits"][0]
    assert table["model_version"][0] == "rules-v2"
    assert table["model_version"][-1].startswith("learned-")
    assert png.exists()
    # Every suspect of every batch was answered by its due date, and the ranking measured.
    suspects = pl.read_csv(tmp_path / "sim-suspects.csv")
    assert suspects.columns == ["world", *SUSPECT_COLUMNS]
    pooled = suspects.filter(pl.col("batch_id") == "all").row(0, named=True)
    batches = pl.read_parquet(truth / "suspects.parquet")
    assert pooled["suspects"] == batches.height > 0
    assert pooled["answered"] == pooled["answered_by_due_date"] == pooled["suspects"]
    assert 0.0 <= pooled["auc"] <= 1.0


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_the_grid_writes_one_row_per_world_and_seed_worst_first(tmp_path: Path):
    save = tmp_path / "grid.csv"
    result = runner.invoke(
        app,
        [
            "evaluate", "--grid", "--world", "reference", "--world", "rare_fraud",
            "--seed", "3", "--scale", "0.01", "--work", str(tmp_path / "work"), "--save", str(save),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pl.read_csv(save)
    assert table.columns == list(GRID_COLUMNS)
    assert sorted(table["world"].to_list()) == ["rare_fraud", "reference"]
    assert table["precision_at_capacity"].to_list() == sorted(table["precision_at_capacity"])
    assert table["precision_at_capacity"].is_between(0, 1).all()
    assert (table["max_list_share"] <= 1).all()
    # The improper persons counted are the world's own.
    for row in table.iter_rows(named=True):
        truth = tmp_path / "work" / f"{row['world']}-3" / "truth"
        assert row["improper"] == improper_as_of(truth, "2020-12").height


def test_an_unknown_world_is_refused_with_the_known_names(tmp_path: Path):
    result = runner.invoke(
        app, ["evaluate", "--grid", "--world", "atlantis", "--work", str(tmp_path / "w")]
    )
    assert result.exit_code != 0
    assert "atlantis" in result.output and "reference" in result.output


def test_the_grid_replaces_a_world_left_by_an_earlier_run(tmp_path: Path):
    """Regression: a second grid in the same work folder reused the first one's months (the
    monthly job skips months already under OUT) and re-ran only December."""
    from sentinel.grid import evaluate_grid

    stale = tmp_path / "reference-3" / "out" / "2020-01"
    stale.mkdir(parents=True)
    (stale / "cases.parquet").write_bytes(b"an earlier run")
    seen: list[bool] = []

    class Stop(Exception):
        pass

    def run_months(inbox: Path, out: Path, month: str) -> None:
        seen.append((out / "2020-01" / "cases.parquet").exists())
        raise Stop

    with pytest.raises(Stop):
        evaluate_grid(["reference"], [3], 0.005, tmp_path, 56, run_months)
    assert seen == [False]
