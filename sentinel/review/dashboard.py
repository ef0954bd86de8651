"""The month dashboard's figures, from frames of cases (pure functions, no I/O).

Precision counts a case's latest audit as the case store's reports do
(:meth:`sentinel.casestore.CaseStore.precision_by_typology`): ``confirmed_*`` is a hit,
``cleared`` a miss, ``unreachable`` neither.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from sentinel.casestore import CONFIRMED

__all__ = [
    "BAR_WIDTH",
    "bar_rows",
    "by_column",
    "month_figures",
    "outcome_counts",
    "precision_by_typology",
    "recovery_by_typology",
    "recovery_totals",
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


def month_figures(
    month_cases: pl.DataFrame, audited: pl.DataFrame, ledger: pl.DataFrame
) -> dict[str, Any]:
    """The month dashboard's figures: the month's cases, yuan at stake, closed and
    recovered so far (from the recovery ledger), and the bars per typology, township,
    outcome, precision and recovery (``audited``: every audited case in reach)."""
    typ = by_column(month_cases, "typology")
    town = by_column(month_cases, "township")
    outcomes = outcome_counts(month_cases)
    precision = precision_by_typology(audited)
    recovery = recovery_by_typology(audited, ledger)
    top = max(
        [
            *recovery["estimated"].to_list(),
            *recovery["overpaid"].to_list(),
            *recovery["recovered"].to_list(),
            0.0,
        ]
    )
    return {
        "cases": month_cases.height,
        "amount": float(month_cases["est_overpayment"].fill_null(0.0).sum()),
        "closed": int(month_cases.filter(pl.col("state") == "closed").height),
        "recovered": float(
            ledger.filter(pl.col("case_id").is_in(month_cases["case_id"].to_list()))[
                "recovered"
            ].sum()
        ),
        "typology_cases": bar_rows(_by_count(typ, "typology"), "typology", "cases"),
        "typology_amount": bar_rows(typ, "typology", "amount"),
        "township_cases": bar_rows(_by_count(town, "township"), "township", "cases"),
        "township_amount": bar_rows(town, "township", "amount"),
        "outcomes": bar_rows(outcomes, "outcome", "cases"),
        "precision": [
            r | {"width": round(BAR_WIDTH * (r["precision"] or 0.0), 1)}
            for r in precision.to_dicts()
        ],
        "recovery": [
            r
            | {
                k + "_width": round(BAR_WIDTH * r[k] / top, 1) if top else 0.0
                for k in ("estimated", "overpaid", "recovered")
            }
            for r in recovery.to_dicts()
        ],
    }


def recovery_totals(ledger: pl.DataFrame, as_of: date) -> dict[str, Any]:
    """The recovery ledger on ``as_of`` in sums: yuan due, recovered and outstanding, the
    accounts open more than 180 days and the recovery rate (None when nothing is due)."""
    totals: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "due": float(ledger["due"].sum()),
        "recovered": float(ledger["recovered"].sum()),
        "outstanding": float(ledger["outstanding"].sum()),
        "aged": int(ledger.filter(pl.col("ageing_bucket") == ">180").height),
    }
    totals["rate"] = totals["recovered"] / totals["due"] if totals["due"] else None
    return totals


def _by_count(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    return frame.sort(["cases", column], descending=[True, False], nulls_last=True)
