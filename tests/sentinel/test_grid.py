"""The grid of worlds: its verdict against the targets every world is held to, and the
table end to end on small worlds."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from sentinel.cli import app
from sentinel.evaluation import improper_as_of
from sentinel.grid import GRID_COLUMNS, GRID_TARGETS, grid_targets

runner = CliRunner()


def _row(world: str, seed: int, **values: float) -> dict[str, object]:
    passing = {
        "recipients": 17000,
        "improper": 55,
        "precision_at_capacity": 0.9,
        "worst_month_precision": 0.7,
        "worst_month": "2020-03",
        "deceased_paid_listed": 1.0,
        "custody_listed": 1.0,
        "probation_listed_for_pay": 0,
        "yuan_ratio": 20.0,
        "max_list_share": 0.012,
        "max_own_list_share": 0.006,
    }
    return {"world": world, "seed": seed, **passing, **values}


def test_each_target_counts_the_world_seeds_meeting_it_and_names_the_worst():
    table = pl.DataFrame(
        [
            _row("a", 7, precision_at_capacity=0.8, max_list_share=0.0225),
            _row("b", 7, precision_at_capacity=0.764, yuan_ratio=3.8),
            _row("c", 11, max_list_share=0.02, probation_listed_for_pay=1),
        ]
    ).select(GRID_COLUMNS)
    verdict = {r["target"]: r for r in grid_targets(table).iter_rows(named=True)}
    assert len(verdict) == len(GRID_TARGETS)

    precision = verdict["precision at capacity >= 0.8"]
    # The bound itself meets the target.
    assert (precision["met"], precision["of"]) == (2, 3)
    assert (precision["worst"], precision["worst_value"]) == ("b-7", 0.764)

    yuan = verdict["top-capacity yuan >= 5x the best baseline"]
    assert (yuan["met"], yuan["worst"]) == (2, "b-7")

    # At-most targets: the largest value is the worst.
    whole = verdict["the whole list <= 2% of recipients, every month"]
    assert (whole["met"], whole["worst"], whole["worst_value"]) == (2, "a-7", 0.0225)
    probation = verdict["nobody on probation listed for being paid"]
    assert (probation["met"], probation["worst"]) == (2, "c-11")

    listed = verdict["everyone paid after a linked death listed, every month"]
    assert (listed["met"], listed["worst_value"]) == (3, 1.0)


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_the_grid_writes_one_row_per_world_and_seed_worst_first(tmp_path: Path):
    save = tmp_path / "grid.csv"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--grid",
            "--world",
            "reference",
            "--world",
            "rare_fraud",
            "--seed",
            "3",
            "--scale",
            "0.01",
            # Four months: what this checks (the table, its order, the truth it counts) needs
            # no year; the year's figures are the grid's own (docs/evaluation.md).
            "--months",
            "4",
            "--work",
            str(tmp_path / "work"),
            "--save",
            str(save),
        ],
    )
    assert result.exit_code == 0, result.output
    # The verdict against the targets follows the table, from the same run.
    assert "targets: world-seeds meeting each" in result.output
    table = pl.read_csv(save)
    assert table.columns == list(GRID_COLUMNS)
    assert sorted(table["world"].to_list()) == ["rare_fraud", "reference"]
    assert table["precision_at_capacity"].to_list() == sorted(table["precision_at_capacity"])
    assert table["precision_at_capacity"].is_between(0, 1).all()
    assert (table["max_list_share"] <= 1).all()
    # The improper persons counted are the world's own, as of its last month.
    for row in table.iter_rows(named=True):
        world = tmp_path / "work" / f"{row['world']}-3"
        months = sorted(p.name for p in (world / "inbox").iterdir())
        assert months == ["2020-01", "2020-02", "2020-03", "2020-04"]
        assert row["improper"] == improper_as_of(world / "truth", "2020-04").height


def test_a_world_shorter_than_a_demo_county_is_refused(tmp_path: Path):
    for flag in ("--grid", "--simulate-audits"):
        result = runner.invoke(
            app, ["evaluate", flag, "--months", "2", "--work", str(tmp_path / "w")]
        )
        assert result.exit_code != 0
        assert "--months 2: a world needs at least 3" in result.output
        assert not (tmp_path / "w").exists()


def test_an_unknown_world_is_refused_with_the_known_names(tmp_path: Path):
    result = runner.invoke(
        app, ["evaluate", "--grid", "--world", "atlantis", "--work", str(tmp_path / "w")]
    )
    assert result.exit_code != 0
    assert "atlantis" in result.output and "reference" in result.output
