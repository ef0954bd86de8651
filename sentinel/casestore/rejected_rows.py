"""Rows an import into the case store did not record, said the same way whatever was
imported (audit outcomes from a workbook, recovery steps from a drop): where the row is,
its case (masked), the column and the problem.

:class:`sentinel.outcomes.OutcomeError` places a row on a workbook's sheet and
:class:`sentinel.casestore.recovery.RecoveryError` in a file; both are written and tabled
here, for the reply to whoever filled the rows in.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

__all__ = ["RejectedRow", "rejected_row_text", "rejected_rows_frame"]

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
    return f"{where}: {problem}"


def rejected_rows_frame(place_column: str, rows: Iterable[RejectedRow]) -> pl.DataFrame:
    """The rejected rows as a table: ``place_column`` (``sheet`` or ``file``), row, case,
    column, problem."""
    return pl.DataFrame(
        [
            {"place": place, "row": row, "case": case, "column": column, "problem": problem}
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
