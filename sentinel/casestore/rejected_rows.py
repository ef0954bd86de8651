"""Rows an import into the case store did not record, said the same way whatever was
imported (audit outcomes from a workbook, recovery steps from a drop): where the row is,
its case (masked), the column and the problem.

:class:`sentinel.outcomes.OutcomeError` places a row on a workbook's sheet and
:class:`sentinel.casestore.recovery.RecoveryError` in a file; both are written and tabled
here, for the reply to whoever filled the rows in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar

import polars as pl

from sentinel.masking import mask_text

__all__ = [
    "ImportRowError",
    "ImportTally",
    "RejectedRow",
    "rejected_row_text",
    "rejected_rows_frame",
]

#: Where a rejected row is (a sheet or a file, or None), its row number, its case
#: (masked), the column and the problem.
RejectedRow = tuple[str | None, int | None, str | None, str, str]


def rejected_row_text(
    place: str | None, row: int | None, case: str | None, column: str, problem: str
) -> str:
    """``"<place>, row <row>, case <case>, column <column>: <problem>"``, leaving out the
    parts not known (``place`` as it should be shown: ``sheet 城关镇``, ``recoveries.csv``)."""
    where = ", ".join(
        part
        for part in (
            place,
            f"row {row}" if row is not None else None,
            f"case {case}" if case else None,
            f"column {column}",
        )
        if part
    )
    return f"{where}: {mask_text(problem)}"


def rejected_rows_frame(place_column: str, rows: Iterable[RejectedRow]) -> pl.DataFrame:
    """The rejected rows as a table: ``place_column`` (``sheet`` or ``file``), row, case,
    column, problem."""
    return pl.DataFrame(
        [
            {
                "place": place,
                "row": row,
                "case": case,
                "column": column,
                "problem": mask_text(problem),
            }
            for place, row, case, column, problem in rows
        ],
        schema={
            "place": pl.String,
            "row": pl.Int64,
            "case": pl.String,
            "column": pl.String,
            "problem": pl.String,
        },
    ).rename({"place": place_column})


@dataclass(frozen=True)
class ImportRowError:
    """One row an import did not record: where it is (``place``: a workbook's sheet or a
    file, None when not known), its row number, the column, the problem and its case
    (masked)."""

    place: str | None
    row: int | None
    column: str
    problem: str
    case: str | None = None

    def __str__(self) -> str:
        return rejected_row_text(self.place, self.row, self.case, self.column, self.problem)


ErrorT = TypeVar("ErrorT", bound=ImportRowError)


@dataclass
class ImportTally(Generic[ErrorT]):
    """What an import did: rows read, rows recorded (``applied``), rows already recorded
    (``unchanged``, a re-import) and rows rejected, with why (``errors``)."""

    #: What the errors' place is, as :meth:`errors_frame` names its column (sheet, file).
    place_column: ClassVar[str]

    rows: int = 0
    applied: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[ErrorT] = field(default_factory=list)

    def errors_frame(self) -> pl.DataFrame:
        """The rejected rows as a table (:attr:`place_column`, row, case, column, problem)
        for the reply to whoever filled them in."""
        return rejected_rows_frame(
            self.place_column,
            ((e.place, e.row, e.case, e.column, e.problem) for e in self.errors),
        )
