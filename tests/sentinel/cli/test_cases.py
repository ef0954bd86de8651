"""`sentinel outcomes import` (``sentinel.cli.cases``): the workbook known by its sheets,
whatever its name; a bad --errors path refused before anything is imported."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sentinel.casestore import CaseStore
from sentinel.cli import app
from tests.sentinel.test_outcomes import PEOPLE, fill_workbook, month_cases, month_workbook

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENTINEL_DATABASE_URL", raising=False)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An output folder whose case store lists the generated January cases."""
    folder = tmp_path / "out"
    folder.mkdir()
    with CaseStore(folder / "cases.sqlite") as store:
        store.record_month("2020-01", month_cases(), clear_months=6)
    return folder


def filled_workbook(tmp_path: Path, name: str, language: str = "zh") -> Path:
    """The January workbook with one case cleared, saved under ``name``."""
    path = month_workbook(tmp_path, language)
    fill_workbook(
        path,
        {
            PEOPLE[2][0]: {
                "outcome": "排除",
                "closed_on": "2020-02-20",
                "audited_by": "李核查",
                "reviewed_by": "周复核",
            }
        },
    )
    return path.rename(tmp_path / name)


def state_of(out: Path, case_id: str) -> str:
    with CaseStore(out / "cases.sqlite") as store:
        return store.case(case_id)["state"]


@pytest.mark.parametrize(
    ("name", "language"),
    [("Cases.xlsx", "zh"), ("2020-03-梅城镇-returned.xlsx", "zh"), ("returned.xlsx", "en")],
)
def test_a_renamed_case_workbook_is_read_as_the_workbook(
    out: Path, tmp_path: Path, name: str, language: str
) -> None:
    """Regression: only a name starting with lowercase "cases" was read as the workbook;
    others were refused as an outcomes table ("required column missing")."""
    workbook = filled_workbook(tmp_path, name, language)
    result = runner.invoke(app, ["outcomes", "import", str(workbook), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 row: 1 case closed" in result.output
    assert state_of(out, PEOPLE[2][0]) == "closed"


def test_an_outcomes_table_named_like_the_workbook_is_read_as_a_table(
    out: Path, tmp_path: Path
) -> None:
    import polars as pl

    table = tmp_path / "cases_outcomes.xlsx"
    pl.DataFrame(
        {
            "case_id": [PEOPLE[2][0]],
            "person_id": [PEOPLE[2][1]],
            "closed_on": ["2020-02-20"],
            "outcome": ["cleared"],
            "death_date": [None],
            "overpaid_amount": [None],
            "recovered_amount": [None],
            "audited_by": ["李核查"],
            "reviewed_by": ["周复核"],
        },
        schema_overrides={"death_date": pl.String, "overpaid_amount": pl.Float64},
    ).write_excel(table)
    result = runner.invoke(app, ["outcomes", "import", str(table), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert state_of(out, PEOPLE[2][0]) == "closed"


@pytest.mark.parametrize("errors", ["missing/errors.csv", "."])
def test_a_bad_errors_path_is_refused_before_anything_is_imported(
    out: Path, tmp_path: Path, errors: str
) -> None:
    """Regression: the import was committed, then a traceback, and no errors file."""
    workbook = filled_workbook(tmp_path, "cases.xlsx")
    path = tmp_path / errors
    result = runner.invoke(
        app, ["outcomes", "import", str(workbook), "--out", str(out), "--errors", str(path)]
    )
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    problem = (
        "a folder; give the path of a CSV file" if path.is_dir() else f"no folder {path.parent}"
    )
    assert result.stderr.splitlines() == [f"error: --errors {path}: {problem}"]
    assert state_of(out, PEOPLE[2][0]) == "new"


def test_outcomes_import_refuses_an_out_without_a_case_store(tmp_path: Path) -> None:
    workbook = filled_workbook(tmp_path, "cases.xlsx")
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    result = runner.invoke(app, ["outcomes", "import", str(workbook), "--out", str(empty)])
    assert result.exit_code == 2
    assert "no case store in" in result.stderr
    assert list(empty.iterdir()) == []
