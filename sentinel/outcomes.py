"""Audit outcomes back in: read the filled-in case workbook and close the cases it reports.

Auditors receive ``cases.xlsx`` (one sheet per township, see
:func:`sentinel.io.reports.write_workbook`) and fill in the outcome columns of the cases
they audited. :func:`read_outcomes_workbook` reads those rows back into the contract's
``outcomes`` columns; :func:`import_outcomes` checks every row against the case store and
closes the cases whose rows are right, reporting the others by sheet, row and column.
Error messages never hold a full identity number or case id.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel
from openpyxl.utils.exceptions import InvalidFileException

from sentinel.casestore import AuditOutcome, CaseStore, CaseValidationError
from sentinel.casestore.rejected_rows import ImportRowError, ImportTally, rejected_row_text
from sentinel.contract import OUTCOMES, OUTCOMES_DATASET
from sentinel.io.reports import CASE_HEADERS_ZH, OUTCOME_HEADERS
from sentinel.masking import mask_id

__all__ = [
    "ImportReport",
    "OutcomeError",
    "import_outcomes",
    "is_case_workbook",
    "read_outcomes_workbook",
    "with_reasons_as_problems",
]

#: Columns of :func:`read_outcomes_workbook`: the contract's, the auditor's note, and where
#: each row came from (``_sheet``, ``_row`` as Excel shows it) with the cells that could
#: not be read (``_problems``: list of {column, problem}).
OUTCOME_COLUMNS: tuple[str, ...] = (*OUTCOMES_DATASET.column_names, "note")
_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "person_id": pl.String(),
    "closed_on": pl.Date(),
    "outcome": pl.String(),
    "death_date": pl.Date(),
    "overpaid_amount": pl.Float64(),
    "recovered_amount": pl.Float64(),
    "audited_by": pl.String(),
    "reviewed_by": pl.String(),
    "note": pl.String(),
    "_sheet": pl.String(),
    "_row": pl.Int64(),
    "_problems": pl.List(pl.Struct({"column": pl.String(), "problem": pl.String()})),
}
_DATE_COLUMNS = ("closed_on", "death_date")
_FORMULA_PROBLEM = "holds a formula; formulas are not accepted, type the value itself"
_AMOUNT_COLUMNS = ("overpaid_amount", "recovered_amount")
_DATE_TEXT = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
_COMPACT_DATE = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")


def _header_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for col in (*CASE_HEADERS_ZH, *OUTCOME_HEADERS):
        names[col] = col
    for col, zh in (CASE_HEADERS_ZH | OUTCOME_HEADERS).items():
        names[zh] = col
    # Contract aliases too, but the workbook's own headers win (追回金额 is the same either way).
    for alias, col in OUTCOMES_DATASET.header_aliases().items():
        names.setdefault(alias, col)
    return names


_HEADERS = _header_names()
#: Columns only a case list has, never the outcomes contract: a sheet with the case-id and
#: outcome headers and at least :data:`_CASE_LIST_MARKS` of these is a workbook's township
#: sheet (an outcomes table with a column or two more is not).
_CASE_LIST_ONLY = frozenset(CASE_HEADERS_ZH) - frozenset(OUTCOMES_DATASET.column_names)
_CASE_LIST_MARKS = 3


def is_case_workbook(path: Path) -> bool:
    """True when ``path`` is a case workbook as ``sentinel run`` writes it (``cases.xlsx``,
    whatever it was renamed to): some sheet's first row holds the case-id and outcome
    headers and the case list's own columns, Chinese or English. False for any other file,
    an outcomes table in the contract's columns or one that is no workbook at all."""
    try:
        book = load_workbook(Path(path), read_only=True, data_only=False)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, InvalidFileException):
        return False
    try:
        for sheet in book.worksheets:
            first = next(sheet.iter_rows(max_row=1, values_only=True), ())
            names = {_HEADERS.get(str(v).strip()) for v in first if v is not None}
            if {"case_id", "outcome"} <= names and len(names & _CASE_LIST_ONLY) >= _CASE_LIST_MARKS:
                return True
        return False
    finally:
        book.close()


def read_outcomes_workbook(path: Path) -> pl.DataFrame:
    """The audit outcomes filled in on a case workbook, one row per audited case.

    Reads every township sheet (a sheet whose first row has the case-id header, Chinese or
    English; the summary sheet has none) and keeps the rows whose outcome cell is filled.
    Outcomes are mapped to the contract's values (``确认死亡`` -> ``confirmed_deceased``);
    an unknown outcome is kept as typed for :func:`import_outcomes` to report. Dates may be
    date cells, ISO text, ``2020/1/5``, ``2020.1.5``, ``2020年1月5日`` or ``20200105``;
    amounts are numbers or text (``1,200.50``, ``1200元``). A cell that cannot be read is
    left empty and named in ``_problems``. A cell holding a formula is never read, neither
    its cached value (which may be stale or forged) nor its absence: it is named in
    ``_problems`` for the auditor to type the value. Columns: :data:`OUTCOME_COLUMNS` then
    ``_sheet``, ``_row`` (row number as Excel shows it) and ``_problems``.
    """
    book = load_workbook(Path(path), read_only=True, data_only=False)
    rows: list[dict[str, Any]] = []
    try:
        for sheet in book.worksheets:
            rows.extend(_sheet_outcomes(sheet))
    finally:
        book.close()
    return pl.DataFrame(rows, schema=_SCHEMA)


def _sheet_outcomes(sheet: Any) -> Iterator[dict[str, Any]]:
    rows = sheet.iter_rows()
    first = next(rows, None)
    if first is None:
        return
    header = tuple(c.value for c in first)
    columns = {
        _HEADERS[str(title).strip()]: j
        for j, title in enumerate(header)
        if title is not None and str(title).strip() in _HEADERS
    }
    if "case_id" not in columns or "outcome" not in columns:
        return
    for number, found in enumerate(rows, start=2):
        values = tuple(c.value for c in found)
        formulas = {j for j, c in enumerate(found) if getattr(c, "data_type", None) == "f"}
        problems: list[dict[str, str]] = []

        def cell(
            col: str,
            values: tuple[Any, ...] = values,
            formulas: set[int] = formulas,
            problems: list[dict[str, str]] = problems,
        ) -> Any:
            j = columns.get(col)
            if j in formulas:
                problems.append({"column": col, "problem": _FORMULA_PROBLEM})
                return None
            value = values[j] if j is not None and j < len(values) else None
            if isinstance(value, str):
                value = value.strip() or None
            return value

        if columns["outcome"] not in formulas and cell("outcome") is None:
            continue
        outcome = cell("outcome")
        row: dict[str, Any] = {
            "case_id": _text(cell("case_id")),
            "person_id": _text(cell("person_id")),
            "outcome": OUTCOMES.get(str(outcome), str(outcome)) if outcome is not None else None,
            "note": _text(cell("note")),
            "audited_by": _text(cell("audited_by")),
            "reviewed_by": _text(cell("reviewed_by")),
            "_sheet": sheet.title,
            "_row": number,
        }
        for col in _DATE_COLUMNS:
            row[col] = _read_cell(cell(col), col, _parse_date, problems)
        for col in _AMOUNT_COLUMNS:
            row[col] = _read_cell(cell(col), col, _parse_amount, problems)
        row["_problems"] = problems
        yield row


def with_reasons_as_problems(rows: pl.DataFrame) -> pl.DataFrame:
    """Outcome rows typed by the contract reader (:func:`features.records.parse_records`)
    with each quarantine reason of ``_reason`` (``"closed_on unparseable; ..."``) as a
    ``_problems`` entry, so that :func:`import_outcomes` rejects the row naming the column:
    an unreadable cell is null once typed, and closing the case without it would lose what
    the auditor wrote. A reason naming no column (a malformed or duplicate row) is the
    row's."""
    columns = set(OUTCOMES_DATASET.column_names)

    def problems(reason: str | None) -> list[dict[str, str]]:
        found = []
        for part in (reason or "").split("; "):
            column, _, problem = part.partition(" ")
            if column in columns and problem:
                found.append({"column": column, "problem": problem})
            elif part:
                found.append({"column": "row", "problem": part})
        return found

    return rows.with_columns(
        pl.Series(
            "_problems",
            [problems(r) for r in rows["_reason"].to_list()],
            dtype=_SCHEMA["_problems"],
        )
    )


def _read_cell(value: Any, column: str, parse: Any, problems: list[dict[str, str]]) -> Any:
    if value is None:
        return None
    try:
        return parse(value)
    except (TypeError, ValueError, OverflowError):
        # The cell's text is not repeated: an auditor's note typed here may hold a name,
        # an ID or an account, and this message goes to the log and the errors file.
        kind = "a date" if column in _DATE_COLUMNS else "an amount"
        problems.append({"column": column, "problem": f"cannot be read as {kind}"})
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A date typed into a cell without a date format: Excel's day serial.
        converted = from_excel(value)
        if isinstance(converted, datetime):
            return converted.date()
        raise ValueError(value)
    text = str(value)
    found = _DATE_TEXT.match(text) or _COMPACT_DATE.match(text)
    if found is None:
        return datetime.fromisoformat(text.strip()).date()
    year, month, day = (int(g) for g in found.groups())
    return date(year, month, day)


def _parse_amount(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        return float(value)
    text = str(value).replace(",", "").replace("，", "").replace("元", "").replace("¥", "")
    return float(text.strip())


class OutcomeError(ImportRowError):
    """One problem with one outcome row: where it is (``place``: the workbook's sheet) and
    what is wrong (IDs masked)."""

    def __str__(self) -> str:
        place = f"sheet {self.place}" if self.place else None
        # The auditors' sheet heads its columns in Chinese: name the column both ways.
        heading = OUTCOME_HEADERS.get(self.column) or CASE_HEADERS_ZH.get(self.column)
        column = f"{self.column} ({heading})" if heading else self.column
        return rejected_row_text(place, self.row, self.case, column, self.problem)


@dataclass
class ImportReport(ImportTally[OutcomeError]):
    """What an import did: rows read, cases closed (or proposed for sign-off: ``pending``,
    counted in ``applied`` too), rows already recorded, rows rejected."""

    place_column = "sheet"

    pending: int = 0


def import_outcomes(
    store: CaseStore, outcomes: pl.DataFrame, *, actor: str, now: datetime | None = None
) -> ImportReport:
    """Close the cases whose audit outcome rows are right; report the others row by row.

    ``outcomes`` has the contract's outcome columns (as :func:`read_outcomes_workbook`
    returns, or a plain frame: ``note``, ``_sheet``, ``_row`` and ``_problems`` are
    optional). A row is rejected, with one error per problem, for: an unknown case, a
    person_id that is not the case's person, an outcome outside the four contract values,
    a date that could not be read or is in the future (after ``now``, default: the current
    time), a negative amount, recovered more than overpaid, or a case appearing twice with
    different results. The other rows are applied with :meth:`CaseStore.close`; a row
    already recorded counts as ``unchanged``, so importing the same file twice changes
    nothing.
    """
    now = now or datetime.now(UTC)
    report = ImportReport(rows=outcomes.height)
    frame = outcomes
    for col, dtype in _SCHEMA.items():
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype).alias(col))
    seen: dict[str, tuple[AuditOutcome, str]] = {}
    for index, row in enumerate(frame.iter_rows(named=True)):
        number = row["_row"] if row["_row"] is not None else index + 1
        case_id = _text(row["case_id"])
        canonical = OUTCOMES.get(row["outcome"].strip()) if row["outcome"] else None
        result = AuditOutcome(
            outcome=canonical or row["outcome"],
            closed_on=row["closed_on"],
            death_date=row["death_date"],
            overpaid_amount=row["overpaid_amount"],
            recovered_amount=row["recovered_amount"],
            note=_text(row["note"]),
        )
        errors = _outcome_errors(store, row, number, case_id, result, now, seen)
        if errors or case_id is None:
            report.rejected += 1
            report.errors.extend(errors)
            continue
        _close_case(store, report, row, number, case_id, result, actor, now)
    return report


def _outcome_errors(
    store: CaseStore,
    row: dict[str, Any],
    number: int,
    case_id: str | None,
    result: AuditOutcome,
    now: datetime,
    seen: dict[str, tuple[AuditOutcome, str]],
) -> list[OutcomeError]:
    """Every problem of one outcome row: its unreadable cells, what the case store refuses,
    and a different result (note included) for a case reported earlier (``seen``: each
    case's first result and where it was, filled in as rows pass)."""
    sheet = row["_sheet"]
    errors = [
        OutcomeError(sheet, number, p["column"], p["problem"], mask_id(case_id))
        for p in row["_problems"] or []
    ]
    unreadable = {e.column for e in errors}
    for column, problem in _row_problems(store, case_id, row["person_id"], result, now):
        if column in unreadable:
            continue  # reported already: the cell was filled but unreadable
        errors.append(OutcomeError(sheet, number, column, problem, mask_id(case_id)))
    if not errors and case_id is not None:
        where = f"sheet {sheet} row {number}" if sheet else f"row {number}"
        earlier = seen.setdefault(case_id, (result, where))
        if earlier[0] != result:
            errors.append(
                OutcomeError(
                    sheet,
                    number,
                    "case_id",
                    f"also reported with a different result at {earlier[1]}",
                    mask_id(case_id),
                )
            )
    return errors


def _close_case(
    store: CaseStore,
    report: ImportReport,
    row: dict[str, Any],
    number: int,
    case_id: str,
    result: AuditOutcome,
    actor: str,
    now: datetime,
) -> None:
    """Close the case with a row's result (:meth:`CaseStore.close`), counted in ``report``."""
    recorder = _text(row["audited_by"]) or actor
    reviewer = _text(row["reviewed_by"])
    try:
        changed = store.close(case_id, result, actor=recorder, reviewed_by=reviewer, now=now)
    except CaseValidationError as exc:
        report.rejected += 1
        report.errors.append(
            OutcomeError(row["_sheet"], number, exc.field, exc.problem, mask_id(case_id))
        )
        return
    if (
        changed
        and reviewer is None
        and store.signoff_needed(case_id, result.outcome, result.overpaid_amount)
    ):
        report.pending += 1
    if changed:
        report.applied += 1
    else:
        report.unchanged += 1


def _row_problems(
    store: CaseStore,
    case_id: str | None,
    person_id: str | None,
    result: AuditOutcome,
    now: datetime,
) -> list[tuple[str, str]]:
    if case_id is None:
        return [("case_id", "is empty")]
    case = store.case(case_id)
    if case is None:
        return [("case_id", "unknown case")]
    problems: list[tuple[str, str]] = []
    person = _text(person_id)
    if person is not None and _person_key(person) != _person_key(case["person_id"]):
        problems.append(
            (
                "person_id",
                f"{mask_id(person)} is not the case's person ({mask_id(case['person_id'])})",
            )
        )
    problems.extend(store.closure_problems(case_id, result, today=now.date()))
    return problems


def _person_key(person_id: str) -> str:
    return person_id.strip().upper()
