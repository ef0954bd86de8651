"""Audit outcomes read back from the case workbook and imported into the case store."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from features.records import parse_records
from sentinel.casestore import CaseStore
from sentinel.contract import CASE_COLUMNS, OUTCOMES_DATASET
from sentinel.io.readers import read_dataset
from sentinel.io.reports import OUTCOME_HEADERS, write_workbook
from sentinel.outcomes import (
    import_outcomes,
    is_case_workbook,
    read_outcomes_workbook,
    with_reasons_as_problems,
)

NOW = datetime(2020, 3, 15, 8, 0, tzinfo=UTC)
# Generated fake people.
PEOPLE = [
    ("SU-111111111111", "430101195001010012", "张三", "城关镇", "suspected_unreported_death"),
    ("DP-222222222222", "430101194505050021", "李四", "城关镇", "deceased_paid"),
    ("DR-333333333333", "430102193803030048", "王五", "河西乡", "duplicate_receipt"),
    ("AA-444444444444", "43010219600606005X", "赵六", "河西乡", "amount_anomaly"),
]


def month_cases() -> pl.DataFrame:
    """A small hand-made case list with the published columns."""
    return pl.DataFrame(
        {
            "case_id": [p[0] for p in PEOPLE],
            "person_id": [p[1] for p in PEOPLE],
            "name": [p[2] for p in PEOPLE],
            "scheme": ["resident"] * 4,
            "township": [p[3] for p in PEOPLE],
            "village": ["一村", "二村", None, "三村"],
            "typology": [p[4] for p in PEOPLE],
            "priority_rank": [1, 2, 3, 4],
            "risk_score": [0.9, 0.8, 0.7, 0.6],
            "est_overpayment": [1500.0, 900.0, 800.0, 120.0],
            "evidence": ["…"] * 4,
            "reasons": ["SU_NO_CERT", "DP_PAID_AFTER_DEATH", "DR_TWO_SCHEMES", "AA_ABOVE_STANDARD"],
            "first_flagged": ["2020-01"] * 4,
            "status": ["new"] * 4,
            "strength": ["signal", "proof", "proof", "signal"],
            "amount_at_stake": [1800.0, 900.0, 800.0, 120.0],
            "last_paid_period": ["2020-01"] * 4,
            "audit_selection": ["priority"] * 4,
            "selection_probability": [1.0] * 4,
            "suspect_batch": [None] * 4,
            "suspect_due": [None] * 4,
        },
        schema_overrides={"suspect_batch": pl.String, "suspect_due": pl.Date},
    ).select(CASE_COLUMNS)


def listed_store(case_store: CaseStore) -> CaseStore:
    case_store.record_month("2020-01", month_cases(), clear_months=6, now=NOW)
    return case_store


def month_workbook(tmp_path: Path, language: str = "zh") -> Path:
    """The January case list written as the workbook the auditors fill in."""
    path = tmp_path / "cases.xlsx"
    write_workbook(month_cases(), path, language=language, month="2020-01")  # type: ignore[arg-type]
    return path


def fill_workbook(path: Path, fills: dict[str, dict[str, object]]) -> None:
    """Type outcome cells into the workbook as an auditor would (by case id)."""
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets[1:]:
        header = [c.value for c in sheet[1]]
        for row in sheet.iter_rows(min_row=2):
            case_id = row[0].value
            for field, value in fills.get(case_id, {}).items():
                title = OUTCOME_HEADERS[field] if OUTCOME_HEADERS[field] in header else field
                row[header.index(title)].value = value
    book.save(path)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_workbook_round_trip_closes_cases(
    case_store: CaseStore, tmp_path: Path, language: str
) -> None:
    listed_store(case_store)
    path = month_workbook(tmp_path, language)
    fill_workbook(
        path,
        {
            PEOPLE[0][0]: {
                "outcome": "确认死亡",
                "closed_on": datetime(2020, 2, 10),
                "death_date": "2019/11/3",
                "overpaid_amount": 1200,
                "recovered_amount": "400.50",
                "note": "家属退款",
                "audited_by": "李核查",
                "reviewed_by": "周复核",
            },
            PEOPLE[2][0]: {"outcome": "排除", "closed_on": "2020-02-20"},
            PEOPLE[3][0]: {"outcome": "unreachable", "closed_on": "2020年2月25日"},
        },
    )
    outcomes = read_outcomes_workbook(path)
    assert outcomes.select("case_id", "outcome", "closed_on", "_row").rows() == [
        (PEOPLE[0][0], "confirmed_deceased", date(2020, 2, 10), 2),
        (PEOPLE[2][0], "cleared", date(2020, 2, 20), 2),
        (PEOPLE[3][0], "unreachable", date(2020, 2, 25), 3),
    ]
    first = outcomes.row(0, named=True)
    assert (first["person_id"], first["death_date"], first["recovered_amount"]) == (
        PEOPLE[0][1],
        date(2019, 11, 3),
        400.5,
    )
    assert first["note"] == "家属退款"
    assert (first["audited_by"], first["reviewed_by"]) == ("李核查", "周复核")
    report = import_outcomes(case_store, outcomes, actor="auditor-li", now=NOW)
    assert (report.rows, report.applied, report.unchanged, report.rejected) == (3, 3, 0, 0)
    case = case_store.case(PEOPLE[0][0])
    assert (case["state"], case["outcome"], case["overpaid_amount"]) == (
        "closed",
        "confirmed_deceased",
        1200.0,
    )
    assert case_store.case(PEOPLE[1][0])["state"] == "new"
    # Importing the same file again changes nothing.
    events = case_store.events().height
    again = import_outcomes(case_store, read_outcomes_workbook(path), actor="auditor-li", now=NOW)
    assert (again.applied, again.unchanged, again.rejected) == (0, 3, 0)
    assert case_store.events().height == events


def test_a_row_without_a_second_signature_waits_and_one_signed_by_its_auditor_is_refused(
    case_store: CaseStore, tmp_path: Path
) -> None:
    listed_store(case_store)
    path = month_workbook(tmp_path)
    result = {"outcome": "确认违规", "closed_on": "2020-02-10", "overpaid_amount": 600}
    fill_workbook(
        path,
        {
            PEOPLE[0][0]: result,
            PEOPLE[2][0]: result | {"audited_by": "李核查", "reviewed_by": "李核查"},
        },
    )
    report = import_outcomes(case_store, read_outcomes_workbook(path), actor="auditor-li", now=NOW)
    assert (report.applied, report.pending, report.rejected) == (1, 1, 1)
    assert case_store.case(PEOPLE[0][0])["state"] == "pending"
    assert case_store.case(PEOPLE[2][0])["state"] == "new"
    (error,) = report.errors
    assert error.column == "reviewed_by" and "second person" in error.problem
    assert PEOPLE[2][0] not in str(error)


def test_bad_rows_are_reported_with_place_and_column(case_store: CaseStore, tmp_path: Path) -> None:
    listed_store(case_store)
    path = month_workbook(tmp_path)
    fill_workbook(
        path,
        {
            PEOPLE[0][0]: {"outcome": "确认死亡", "closed_on": "2020-13-45"},
            PEOPLE[1][0]: {"outcome": "maybe", "closed_on": "2020-02-01"},
            PEOPLE[2][0]: {
                "outcome": "确认违规",
                "closed_on": "2021-01-01",
                "overpaid_amount": 100,
                "recovered_amount": 300,
            },
            PEOPLE[3][0]: {"outcome": "确认违规", "closed_on": "2020-02-01", "overpaid_amount": -5},
        },
    )
    report = import_outcomes(case_store, read_outcomes_workbook(path), actor="auditor-li", now=NOW)
    assert (report.applied, report.rejected) == (0, 4)
    problems = [(e.place, e.row, e.column) for e in report.errors]
    assert problems == [
        ("城关镇", 2, "closed_on"),
        ("城关镇", 3, "outcome"),
        ("河西乡", 2, "closed_on"),
        ("河西乡", 2, "recovered_amount"),
        ("河西乡", 3, "overpaid_amount"),
    ]
    messages = [str(e) for e in report.errors]
    assert messages[0] == (
        "sheet 城关镇, row 2, case SU-111*****1111, column closed_on (结案日期): "
        "cannot be read as a date"
    )
    assert "in the future" in messages[2] and "more than overpaid" in messages[3]
    assert "negative" in messages[4]
    for message in messages:
        for _, person_id, *_ in PEOPLE:
            assert person_id not in message
        for case_id, *_ in PEOPLE:
            assert case_id not in message
    assert report.errors_frame().height == 5
    assert all(case_store.case(p[0])["state"] == "new" for p in PEOPLE)


def test_a_note_typed_in_the_wrong_cell_is_not_repeated_in_the_errors(
    case_store: CaseStore, tmp_path: Path
) -> None:
    """Errors go to the log and the errors file: the names, IDs and accounts an auditor may
    type into a cell that wants a value from a list, a date or an amount stay out of them."""
    listed_store(case_store)
    path = month_workbook(tmp_path)
    note = f"已死亡，由{PEOPLE[2][2]}之子代领，账号6228453076623684，身份证{PEOPLE[2][1]}"
    fill_workbook(
        path,
        {
            PEOPLE[0][0]: {"outcome": note, "closed_on": "2020-02-01"},
            PEOPLE[1][0]: {
                "outcome": "确认死亡",
                "closed_on": "2020-02-01",
                "death_date": PEOPLE[1][1],
            },
            PEOPLE[2][0]: {
                "outcome": "确认违规",
                "closed_on": "2020-02-01",
                "recovered_amount": f"{PEOPLE[2][2]}退回",
            },
        },
    )
    report = import_outcomes(case_store, read_outcomes_workbook(path), actor="auditor-li", now=NOW)
    assert report.rejected == 3
    text = "\n".join(str(e) for e in report.errors) + report.errors_frame().write_csv()
    for secret in (PEOPLE[1][1], PEOPLE[2][1], PEOPLE[2][2], "6228453076623684"):
        assert secret not in text
    assert [e.column for e in report.errors] == ["outcome", "death_date", "recovered_amount"]


def test_an_outcomes_file_with_an_unreadable_cell_rejects_the_row_naming_the_column(
    case_store: CaseStore, tmp_path: Path
) -> None:
    """Typed, an unreadable cell is null: closing the case without it would lose what the
    auditor wrote (a recovered sum stored as nothing)."""
    listed_store(case_store)
    path = tmp_path / "outcomes.csv"
    path.write_text(
        "case_id,person_id,closed_on,outcome,death_date,overpaid_amount,recovered_amount\n"
        f"{PEOPLE[1][0]},{PEOPLE[1][1]},2020-02-01,confirmed_deceased,2020-02-30,900,三百\n"
        f"{PEOPLE[2][0]},{PEOPLE[2][1]},2020-02-01,confirmed_improper,,800,800\n",
        encoding="utf-8",
    )
    raw = read_dataset(path, OUTCOMES_DATASET).frame
    typed = parse_records(raw.lazy(), OUTCOMES_DATASET, month="0000-00").collect()
    rows = with_reasons_as_problems(typed)
    report = import_outcomes(case_store, rows, actor="auditor-li", now=NOW)
    assert (report.applied, report.rejected) == (1, 1)
    assert [(e.row, e.column, e.problem) for e in report.errors] == [
        (1, "death_date", "unparseable"),
        (1, "recovered_amount", "unparseable"),
    ]
    assert case_store.case(PEOPLE[1][0])["state"] == "new"
    assert case_store.case(PEOPLE[2][0])["state"] != "new"


def test_unknown_case_and_wrong_person_are_rejected(case_store: CaseStore) -> None:
    listed_store(case_store)
    outcomes = pl.DataFrame(
        {
            "case_id": ["XX-999999999999", PEOPLE[0][0], PEOPLE[1][0]],
            "person_id": [PEOPLE[0][1], PEOPLE[1][1], PEOPLE[1][1]],
            "closed_on": [date(2020, 2, 1)] * 3,
            "outcome": ["cleared", "cleared", "cleared"],
            "death_date": [None, None, None],
            "overpaid_amount": [None, None, None],
            "recovered_amount": [None, None, None],
        },
        schema_overrides={
            "death_date": pl.Date,
            "overpaid_amount": pl.Float64,
            "recovered_amount": pl.Float64,
        },
    )
    report = import_outcomes(case_store, outcomes, actor="auditor-li", now=NOW)
    assert (report.applied, report.rejected) == (1, 2)
    assert [(e.row, e.column) for e in report.errors] == [(1, "case_id"), (2, "person_id")]
    assert str(report.errors[0]) == (
        "row 1, case XX-999*****9999, column case_id (案件编号): unknown case"
    )
    assert str(report.errors[1]) == (
        "row 2, case SU-111*****1111, column person_id (身份证号): "
        "430101********0021 is not the case's person (430101********0012)"
    )


def test_same_case_twice_with_different_results_is_rejected(case_store: CaseStore) -> None:
    listed_store(case_store)
    outcomes = pl.DataFrame(
        {
            "case_id": [PEOPLE[2][0], PEOPLE[2][0]],
            "person_id": [None, None],
            "closed_on": [date(2020, 2, 1), date(2020, 2, 2)],
            "outcome": ["cleared", "cleared"],
        },
        schema_overrides={"person_id": pl.String},
    )
    report = import_outcomes(case_store, outcomes, actor="auditor-li", now=NOW)
    assert (report.applied, report.rejected) == (1, 1)
    assert report.errors[0].problem == "also reported with a different result at row 1"


def test_summary_sheet_and_rows_without_outcome_are_skipped(tmp_path: Path) -> None:
    path = month_workbook(tmp_path)
    assert read_outcomes_workbook(path).height == 0
    fill_workbook(path, {PEOPLE[1][0]: {"note": "未入户", "closed_on": "2020-02-01"}})
    assert read_outcomes_workbook(path).height == 0


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (datetime(2020, 1, 5), date(2020, 1, 5)),
        ("2020-01-05", date(2020, 1, 5)),
        ("2020/1/5", date(2020, 1, 5)),
        ("2020.1.5", date(2020, 1, 5)),
        ("2020年1月5日", date(2020, 1, 5)),
        ("20200105", date(2020, 1, 5)),
        (43835, date(2020, 1, 5)),
    ],
)
def test_dates_as_auditors_type_them(tmp_path: Path, typed: object, expected: date) -> None:
    path = month_workbook(tmp_path)
    fill_workbook(path, {PEOPLE[0][0]: {"outcome": "排除", "closed_on": typed}})
    got = read_outcomes_workbook(path)
    assert got["closed_on"].to_list() == [expected]
    assert got["_problems"].to_list() == [[]]


def test_formula_cells_are_refused_with_sheet_row_and_column(tmp_path: Path) -> None:
    """Regression (issue 18): a formula without a cached value was dropped silently and a
    forged cached value was trusted; both are now refused by sheet, row and column."""
    path = month_workbook(tmp_path)
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[1]
    header = [c.value for c in sheet[1]]
    outcome_col = header.index(OUTCOME_HEADERS["outcome"]) + 1
    closed_col = header.index(OUTCOME_HEADERS["closed_on"]) + 1
    amount_col = header.index(OUTCOME_HEADERS["overpaid_amount"]) + 1
    # Row 2: the outcome itself is a formula never calculated (no cached value).
    sheet.cell(2, outcome_col).value = '=IF(1,"确认死亡","")'
    sheet.cell(2, closed_col).value = "2020-02-10"
    # Row 3: a typed outcome, but the amount is a formula.
    sheet.cell(3, outcome_col).value = "确认死亡"
    sheet.cell(3, closed_col).value = "2020-02-10"
    sheet.cell(3, amount_col).value = "=1E+308*10"
    book.save(path)
    outcomes = read_outcomes_workbook(path)
    assert outcomes.height == 2
    problems = {
        (r["_sheet"], r["_row"], p["column"])
        for r in outcomes.iter_rows(named=True)
        for p in r["_problems"]
    }
    assert problems == {
        (sheet.title, 2, "outcome"),
        (sheet.title, 3, "overpaid_amount"),
    }
    assert outcomes["overpaid_amount"].is_null().all()


def test_formula_cells_make_the_import_reject_the_rows(
    case_store: CaseStore, tmp_path: Path
) -> None:
    listed_store(case_store)
    path = month_workbook(tmp_path, "en")
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[1]
    header = [c.value for c in sheet[1]]
    sheet.cell(2, header.index("outcome") + 1).value = "cleared"
    sheet.cell(2, header.index("closed_on") + 1).value = "=TODAY()"
    book.save(path)
    report = import_outcomes(case_store, read_outcomes_workbook(path), actor="a", now=NOW)
    assert report.rejected == 1 and report.applied == 0
    assert [str(e) for e in report.errors] == [
        f"sheet {sheet.title}, row 2, case {report.errors[0].case}, column closed_on (结案日期): "
        "holds a formula; formulas are not accepted, type the value itself"
    ]


def test_the_workbook_import_refuses_implausible_amounts_and_dates(
    case_store: CaseStore, tmp_path: Path
) -> None:
    """Regression (issue 18): overpaid 1e308 and a death on 0001-01-01 were accepted."""
    listed_store(case_store)
    path = month_workbook(tmp_path)
    fill_workbook(
        path,
        {
            PEOPLE[0][0]: {
                "outcome": "确认死亡",
                "closed_on": "2020-02-10",
                "death_date": "0001-01-01",
            },
            PEOPLE[1][0]: {
                "outcome": "确认违规",
                "closed_on": "2020-02-10",
                "overpaid_amount": 1e308,
            },
        },
    )
    report = import_outcomes(case_store, read_outcomes_workbook(path), actor="a", now=NOW)
    assert (report.applied, report.rejected) == (0, 2)
    assert [(e.row, e.column) for e in report.errors] == [(2, "death_date"), (3, "overpaid_amount")]
    assert "before the person's birth (1950-01-01)" in report.errors[0].problem
    assert "is not below 2,000,000 yuan" in report.errors[1].problem


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_case_workbook_is_known_by_its_sheets_not_its_name(tmp_path: Path, language: str) -> None:
    workbook = month_workbook(tmp_path, language).rename(tmp_path / "2020-01-returned.xlsx")
    assert is_case_workbook(workbook)
    table = tmp_path / "cases-outcomes.xlsx"
    pl.DataFrame(
        {"case_id": [PEOPLE[0][0]], "outcome": ["cleared"], "township": ["城关镇"]}
    ).write_excel(table)
    assert not is_case_workbook(table)
    broken = tmp_path / "cases.xlsx"
    broken.write_text("not a workbook", encoding="utf-8")
    assert not is_case_workbook(broken)
