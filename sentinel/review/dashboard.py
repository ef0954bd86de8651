"""The month dashboard's figures, from frames of cases (pure functions, no I/O).

Precision counts a case's latest audit as the case store's reports do
(:meth:`sentinel.casestore.CaseStore.precision_by_typology`): ``confirmed_*`` is a hit,
``cleared`` a miss, ``unreachable`` neither.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from sentinel.casestore import CONFIRMED

__all__ = [
    "BAR_WIDTH",
    "bar_rows",
    "by_column",
    "outcome_counts",
    "precision_by_typology",
    "recovery_by_typology",
]

#: Width in pixels of the longest bar of a chart.
BAR_WIDTH = 260


def by_column(month_cases: pl.DataFrame, column: str) -> pl.DataFrame:
    """Cases and amount at stake (``est_overpayment``, yuan) per value of ``column``,
    most money first."""
    return (
        month_cases.group_by(column)
        .agg(
            pl.len().cast(pl.Int64).alias("cases"),
            pl.col("est_overpayment").fill_null(0.0).sum().round(2).alias("amount"),
        )
        .sort(["amount", column], descending=[True, False], nulls_last=True)
    )


def outcome_counts(month_cases: pl.DataFrame) -> pl.DataFrame:
    """The month's cases per audit outcome (``open`` for cases without one)."""
    return (
        month_cases.with_columns(pl.col("outcome").fill_null("open"))
        .group_by("outcome")
        .agg(pl.len().cast(pl.Int64).alias("cases"))
        .sort(["cases", "outcome"], descending=[True, False])
    )


def precision_by_typology(audited: pl.DataFrame) -> pl.DataFrame:
    """Per typology: audited (confirmed + cleared), confirmed, cleared, unreachable and
    precision = confirmed / audited (null when nothing was audited)."""
    outcome = pl.col("outcome")
    return (
        audited.group_by("typology")
        .agg(
            outcome.is_in(CONFIRMED).sum().cast(pl.Int64).alias("confirmed"),
            (outcome == "cleared").sum().cast(pl.Int64).alias("cleared"),
            (outcome == "unreachable").sum().cast(pl.Int64).alias("unreachable"),
        )
        .with_columns((pl.col("confirmed") + pl.col("cleared")).alias("audited"))
        .with_columns(
            pl.when(pl.col("audited") > 0)
            .then(pl.col("confirmed") / pl.col("audited"))
            .otherwise(None)
            .alias("precision")
        )
        .select("typology", "audited", "confirmed", "cleared", "unreachable", "precision")
        .sort("typology")
    )


def recovery_by_typology(audited: pl.DataFrame, ledger: pl.DataFrame) -> pl.DataFrame:
    """Per typology over confirmed cases: estimated and overpaid yuan, and recovered yuan
    from the recovery ledger (what was recovered at closing and every payment since)."""
    recovered = ledger.group_by("typology").agg(
        pl.col("recovered").sum().round(2).alias("recovered")
    )
    return (
        audited.filter(pl.col("outcome").is_in(CONFIRMED))
        .group_by("typology")
        .agg(
            pl.len().cast(pl.Int64).alias("confirmed"),
            pl.col("est_overpayment").fill_null(0.0).sum().round(2).alias("estimated"),
            pl.col("overpaid_amount").fill_null(0.0).sum().round(2).alias("overpaid"),
        )
        .join(recovered, on="typology", how="left")
        .with_columns(pl.col("recovered").fill_null(0.0))
        .sort("typology")
    )


def bar_rows(
    frame: pl.DataFrame, label: str, value: str, *, scale_to: float | None = None
) -> list[dict[str, Any]]:
    """Rows of a horizontal bar chart: ``label``, ``value`` and ``width`` in pixels (the
    largest value, or ``scale_to``, is :data:`BAR_WIDTH` wide)."""
    values = [float(v or 0.0) for v in frame.get_column(value).to_list()]
    top = scale_to if scale_to is not None else max(values, default=0.0)
    return [
        {
            "label": lab,
            "value": v,
            "width": round(BAR_WIDTH * v / top, 1) if top > 0 else 0.0,
        }
        for lab, v in zip(frame.get_column(label).to_list(), values, strict=True)
    ]
