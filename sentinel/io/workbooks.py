"""Excel workbooks: the first sheet's cells as text columns under the header row, and the
formulas a workbook holds (refused where people type the values).

A sheet is read by cell, every value as text (fastexcel); the header is the first row that
names contract columns, so an export's title rows above it are skipped.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import polars as pl

from sentinel.contract import ContractError, Dataset
from sentinel.io.conform import MALFORMED_COLUMN, ROW_COLUMN, clean_header

__all__ = [
    "NO_FORMULA_DATASETS",
    "FormulaCell",
    "formula_cells",
    "read_xlsx_cells",
    "refuse_formulas",
]

# How far down an Excel sheet to look for the header row (exports often start with a title).
_XLSX_HEADER_SEARCH_ROWS = 10
# Excel keeps 15 significant digits of a number: an identity or account number typed or
# exported as a number cell (18 or 19 digits) is already altered in the file.
_EXACT_DIGITS = 15
_LONG_NUMBER = rf"^\d{{{_EXACT_DIGITS + 1},}}(?:\.0*)?$"


@dataclass(frozen=True)
class FormulaCell:
    """A workbook cell holding a formula: sheet title, row and column as Excel shows them,
    and the column's header (first row) when it has one."""

    sheet: str
    row: int
    column: str
    header: str | None

    def where(self) -> str:
        """``sheet 梅城镇, row 5, column 核查结果 (N)`` for an error message."""
        named = f"{self.header} ({self.column})" if self.header else self.column
        return f"sheet {self.sheet}, row {self.row}, column {named}"


#: Datasets whose xlsx cells are typed by people (audit outcomes, recovery steps): a
#: formula there is refused, since its cached value may be stale, forged, or missing.
NO_FORMULA_DATASETS = frozenset({"outcomes", "recoveries"})


def formula_cells(source: Path | bytes, *, first_sheet_only: bool = False) -> list[FormulaCell]:
    """Every cell of an xlsx workbook that holds a formula, in sheet and row order.

    The workbook is read for its formulas, not their cached values: a formula saved
    without a value (written by a script, never recalculated) is found as well as one
    whose cached value was edited by hand.
    """
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    handle = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
    book = load_workbook(handle, read_only=True, data_only=False)
    found: list[FormulaCell] = []
    try:
        for sheet in book.worksheets[:1] if first_sheet_only else book.worksheets:
            header: tuple[object, ...] = ()
            for number, row in enumerate(sheet.iter_rows(), start=1):
                if number == 1:
                    header = tuple(getattr(c, "value", None) for c in row)
                for j, cell in enumerate(row):
                    if getattr(cell, "data_type", None) != "f":
                        continue
                    title = header[j] if j < len(header) else None
                    found.append(
                        FormulaCell(
                            sheet=sheet.title,
                            row=number,
                            column=get_column_letter(j + 1),
                            header=str(title).strip() if title is not None else None,
                        )
                    )
    finally:
        book.close()
    return found


def refuse_formulas(data: bytes, file: str) -> None:
    try:
        formulas = formula_cells(data, first_sheet_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and its own errors alike
        raise ContractError(file, None, f"unreadable xlsx: {exc}") from None
    if formulas:
        first = formulas[0]
        more = f" (and {len(formulas) - 1} more)" if len(formulas) > 1 else ""
        raise ContractError(
            file,
            first.header,
            f"{first.where()} holds a formula{more}; formulas are not accepted, "
            "type the value itself",
        )


def read_xlsx_cells(data: bytes, file: str, dataset: Dataset) -> tuple[list[str], pl.DataFrame]:
    """First sheet, every cell as text; the header is the first row naming contract columns."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Which cells are numbers, read beside the text (its own reader: a reader loads one
        # sheet at a time): on two cores the check costs no wall time.
        kinds = pool.submit(_first_sheet, data, "boolean")
        try:
            sheet = _first_sheet(data, "string")
            number_cells = kinds.result()
        except Exception as exc:  # fastexcel raises its own error classes
            raise ContractError(file, None, f"unreadable xlsx: {exc}") from None
    if sheet.height == 0:
        raise ContractError(file, None, "empty sheet: no header row")
    sheet = sheet.rename({name: f"c{i}" for i, name in enumerate(sheet.columns)})
    aliases = dataset.header_aliases()
    header_at = 0
    for i, row in enumerate(sheet.head(_XLSX_HEADER_SEARCH_ROWS).iter_rows()):
        if any(clean_header(v) in aliases for v in row if v is not None):
            header_at = i
            break
    headers = [clean_header(v) if v is not None else "" for v in sheet.row(header_at)]
    _refuse_long_numbers(number_cells, sheet, headers, header_at, file)
    rows = sheet.slice(header_at + 1)
    # Date cells come out as 'YYYY-MM-DD 00:00:00'; a date is all the contract wants.
    cells = (
        rows.with_columns(pl.all().str.replace(r"^(\d{4}-\d{2}-\d{2}) 00:00:00$", "${1}"))
        .with_columns(
            pl.int_range(1, rows.height + 1, dtype=pl.Int64).alias(ROW_COLUMN),
            pl.lit(None, dtype=pl.String).alias(MALFORMED_COLUMN),
        )
        .filter(~pl.all_horizontal(pl.col(rows.columns).is_null()))
    )
    return headers, cells


def _first_sheet(data: bytes, dtype: str) -> pl.DataFrame:
    """The first sheet's cells, every column read as ``dtype``, no header row taken."""
    sheet = fastexcel.read_excel(data).load_sheet(0, header_row=None, dtypes=dtype)  # type: ignore[arg-type]
    return sheet.to_polars()


def _refuse_long_numbers(
    number_cells: pl.DataFrame,
    sheet: pl.DataFrame,
    headers: list[str],
    header_at: int,
    file: str,
) -> None:
    """Stop on a number cell below the header with more than 15 digits: Excel has already
    rounded it (an ID typed as a number), so reading it would change a person's ID.

    ``sheet`` is the text of every cell, ``number_cells`` the same sheet read as booleans:
    the text cannot tell a number cell from a text cell of digits, but fastexcel makes a
    number cell true or false there and leaves a text cell empty.
    """
    body = sheet.slice(header_at + 1)
    numbers = number_cells.slice(header_at + 1)
    for i, (name, kind) in enumerate(zip(body.columns, numbers.columns, strict=True)):
        long_number = numbers[kind].is_not_null() & body[name].str.contains(_LONG_NUMBER)
        count = int(long_number.sum())
        if count:
            first = int(long_number.arg_true()[0]) + header_at + 2
            raise ContractError(
                file,
                headers[i] if i < len(headers) and headers[i] else None,
                f"{count} number cell(s) of more than {_EXACT_DIGITS} digits, the first in "
                f"row {first}: Excel keeps only {_EXACT_DIGITS} digits of a number, so these "
                "identity or account numbers are already altered; export the column as text",
            )
