"""``sentinel evaluate``'s options: one month's list, or the worlds it generates itself."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from sentinel.cli import app

runner = CliRunner()


def _one_line(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("flag", ["--grid", "--simulate-audits"])
def test_the_generated_worlds_take_no_options_of_one_month(tmp_path: Path, flag: str) -> None:
    """They would be ignored: the worlds are generated and run in --work."""
    result = runner.invoke(
        app,
        [
            "evaluate",
            flag,
            "--out",
            str(tmp_path),
            "--month",
            "2020-03",
            "--work",
            str(tmp_path / "w"),
        ],
    )
    assert "--out, --month judge one month's list" in _one_line(result)
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize(
    ("flag", "option", "kind"),
    [
        ("--simulate-audits", "--plot", "PNG file"),
        ("--simulate-audits", "--save", "CSV file"),
        ("--grid", "--save", "CSV file"),
    ],
)
def test_an_output_file_that_could_not_be_written_is_refused_before_any_world_runs(
    tmp_path: Path, flag: str, option: str, kind: str
) -> None:
    """Regression: a plot into a folder that did not exist ended a seven-minute simulated
    year in a traceback, and its tables were never written."""
    work = tmp_path / "w"
    for path, problem in [
        (tmp_path / "missing" / "out.file", f"no folder {tmp_path / 'missing'}"),
        (tmp_path, f"a folder; give the path of a {kind}"),
    ]:
        result = runner.invoke(app, ["evaluate", flag, option, str(path), "--work", str(work)])
        assert _one_line(result) == f"error: {option} {path}: {problem}"
        assert not work.exists()


def test_the_grid_and_the_simulated_year_are_two_evaluations() -> None:
    result = runner.invoke(app, ["evaluate", "--grid", "--simulate-audits"])
    assert "give one" in _one_line(result)


def test_a_truth_folder_without_ground_truth_is_refused(tmp_path: Path) -> None:
    month = tmp_path / "out" / "2020-03"
    month.mkdir(parents=True)
    pl.DataFrame({"case_id": ["x"]}).write_parquet(month / "cases.parquet")
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--truth",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path / "out"),
            "--month",
            "2020-03",
        ],
    )
    assert "no ground truth here" in _one_line(result)
