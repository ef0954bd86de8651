"""Writers of a month's outputs: every CSV comes out inert when opened in a spreadsheet."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook
from polars.testing import assert_frame_equal

from sentinel.config import REPLY_COLUMNS, SuspectsConfig
from sentinel.io.reports import (
    neutralise_formulas,
    write_csv_bom,
    write_quarantine,
    write_suspect_replies,
)

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


def _replies() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "batch_id": ["YZ1", "YZ1", "YZ/2:x"],
            "person_id": ["430923195001010011", "430923195001010038", "430923195001010054"],
            "result": ["verifying", "cleared", "confirmed_deceased"],
            "checked_on": [None, "2020-03-15", "2020-03-16"],
            "evidence": ["=1+1", "排除", "确认死亡"],
            "overpaid_amount": [None, None, 1230.5],
            "recovered_amount": [None, None, 0.0],
            "due_on": ["2020-03-31"] * 3,
        }
    )


def test_suspect_replies_in_the_contract_names_one_sheet_per_batch(tmp_path: Path) -> None:
    paths = write_suspect_replies(_replies(), tmp_path, {}, {})
    rows = read_back(paths["csv"])
    assert rows[0] == list(REPLY_COLUMNS)
    assert len(rows) == 4
    assert rows[1][4] == "'=1+1"  # inert in a spreadsheet
    book = load_workbook(paths["xlsx"])
    assert book.sheetnames == ["YZ1", "YZ_2_x"]
    assert book["YZ_2_x"]["F2"].value == 1230.5


def test_suspect_replies_follow_the_upstream_template(tmp_path: Path) -> None:
    template = SuspectsConfig(
        reply_columns={"batch_id": "批次号", "person_id": "身份证号", "result": "核查结果"},
        reply_results={"cleared": "排除", "verifying": "核查中"},
    )
    paths = write_suspect_replies(_replies(), tmp_path, template.reply_columns, template.reply_results)
    rows = read_back(paths["csv"])
    assert rows[0][:4] == ["批次号", "身份证号", "核查结果", "checked_on"]
    assert [r[2] for r in rows[1:]] == ["核查中", "排除", "confirmed_deceased"]


def test_an_unknown_template_name_is_refused() -> None:
    with pytest.raises(ValueError, match="reply_columns: unknown"):
        SuspectsConfig(reply_columns={"batch": "批次号"})
    with pytest.raises(ValueError, match="reply_results: unknown"):
        SuspectsConfig(reply_results={"pending": "核查中"})
