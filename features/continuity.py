"""Case continuity across months: which cases are new and when each was first flagged."""

from __future__ import annotations

import polars as pl


def carry_case_status(cases: pl.LazyFrame, previous: pl.LazyFrame, *, month: str) -> pl.LazyFrame:
    """Add ``status`` and ``first_flagged`` to this month's ``cases``.

    ``previous`` holds the case list of the latest earlier month (``case_id``,
    ``first_flagged``; empty when there is none). A case whose ``case_id`` was on that list
    is ``carried`` and keeps its ``first_flagged``; any other case is ``new`` and first
    flagged this ``month``.
    """
    earlier = previous.select(
        pl.col("case_id"), pl.col("first_flagged").alias("_earlier_first")
    ).unique("case_id")
    return (
        cases.join(earlier, on="case_id", how="left", maintain_order="left")
        .with_columns(
            pl.coalesce(pl.col("_earlier_first"), pl.lit(month)).alias("first_flagged"),
            pl.when(pl.col("_earlier_first").is_not_null())
            .then(pl.lit("carried"))
            .otherwise(pl.lit("new"))
            .alias("status"),
        )
        .drop("_earlier_first")
    )
