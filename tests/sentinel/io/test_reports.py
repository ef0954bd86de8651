"""Writers of a month's outputs: every CSV comes out inert when opened in a spreadsheet."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sentinel.io.reports import neutralise_formulas, write_csv_bom, write_quarantine

# Generated names and villages an attacker could register (issue 18).
INJECTED = [
    '=HYPERLINK("http://x","y")',
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
]


def read_back(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize("value", INJECTED)
def test_text_cells_starting_a_formula_get_an_apostrophe(value: str) -> None:
    frame = pl.DataFrame({"name": [value]})
    assert neutralise_formulas(frame)["name"].to_list() == ["'" + value]


@pytest.mark.parametrize("value", ["张三", "-103", "+1.5e3", "103.00", "a=b", None])
def test_plain_text_and_numbers_as_text_are_kept(value: str | None) -> None:
    frame = pl.DataFrame({"v": [value]}, schema={"v": pl.String})
    assert_frame_equal(neutralise_formulas(frame), frame)


def test_numeric_columns_stay_numbers() -> None:
    frame = pl.DataFrame({"amount": [-103.0, 5.0], "rank": [-1, 2]})
    assert_frame_equal(neutralise_formulas(frame), frame)


def test_case_list_and_quarantine_csv_hold_no_live_formula(tmp_path: Path) -> None:
    cases = pl.DataFrame(
        {"name": INJECTED, "village": list(reversed(INJECTED)), "est_overpayment": [-1.0] * 6}
    )
    write_csv_bom(cases, tmp_path / "cases.csv")
    written = write_quarantine({"beneficiaries": cases}, tmp_path / "quarantine")
    for path in (tmp_path / "cases.csv", written["beneficiaries"]):
        rows = read_back(path)[1:]
        cells = [c for row in rows for c in row[:2]]
        assert cells and all(c.startswith("'") for c in cells)
    # The numeric column of the case list is still a number.
    assert {row[2] for row in read_back(tmp_path / "cases.csv")[1:]} == {"-1.0"}
