"""The case page's outcome form as the audit outcomes import reads it: a one-row frame of
the contract's ``outcomes`` columns for :func:`sentinel.outcomes.import_outcomes`, so that
a result typed in the app passes the same checks as a filled-in workbook.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

__all__ = ["outcome_form_frame"]


def outcome_form_frame(
    case: dict[str, Any], form: dict[str, str]
) -> tuple[pl.DataFrame, list[tuple[str, str]]]:
    """The form as a one-row outcomes frame for :func:`sentinel.outcomes.import_outcomes`,
    with the cells that could not be read named in ``_problems``."""
    problems: list[dict[str, str]] = []

    def day(column: str) -> date | None:
        value = form[column]
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            problems.append(
                {"column": column, "problem": f"cannot read {value[:20]!r} as a date (YYYY-MM-DD)"}
            )
            return None

    def amount(column: str) -> float | None:
        value = (
            form[column]
            .replace(",", "")
            .replace("，", "")
            .replace("元", "")
            .replace("¥", "")
            .strip()
        )
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            problems.append(
                {"column": column, "problem": f"cannot read {form[column][:20]!r} as an amount"}
            )
            return None
        if number != number or number in (float("inf"), float("-inf")):
            problems.append(
                {"column": column, "problem": f"cannot read {form[column][:20]!r} as an amount"}
            )
            return None
        return number

    row = {
        "case_id": case["case_id"],
        "person_id": case["person_id"],
        "closed_on": day("closed_on"),
        "outcome": form["outcome"] or None,
        "death_date": day("death_date"),
        "overpaid_amount": amount("overpaid_amount"),
        "recovered_amount": amount("recovered_amount"),
        "note": form["note"] or None,
        "_sheet": None,
        "_row": 1,
        "_problems": problems,
    }
    frame = pl.DataFrame(
        [row],
        schema={
            "case_id": pl.String,
            "person_id": pl.String,
            "closed_on": pl.Date,
            "outcome": pl.String,
            "death_date": pl.Date,
            "overpaid_amount": pl.Float64,
            "recovered_amount": pl.Float64,
            "note": pl.String,
            "_sheet": pl.String,
            "_row": pl.Int64,
            "_problems": pl.List(pl.Struct({"column": pl.String, "problem": pl.String})),
        },
    )
    return frame, [(p["column"], p["problem"]) for p in problems]
