"""The simulated year summed up per world, against what issue 17 asks of the learning loop.

Over the year the list's visits should find at least :data:`MIN_YEAR_SHARE` of what the
all-knowing auditor finds with the same visits, and the last :data:`SPAN` months should not
fall below the first :data:`SPAN` (the outcomes must teach the model, not wear it out).
"""

from __future__ import annotations

import polars as pl

__all__ = ["MIN_YEAR_SHARE", "SPAN", "YEAR_COLUMNS", "year_summary"]

#: Share of the all-knowing auditor's finds the year's visits must reach (issue 17).
MIN_YEAR_SHARE = 0.7
#: Months compared at the start and at the end of the year (issue 17: three).
SPAN = 3

#: Columns of :func:`year_summary`, one row per world.
YEAR_COLUMNS: tuple[str, ...] = (
    "world",
    "found",
    "oracle",
    "year_share",
    "first_share",
    "last_share",
    "visits",
    "yuan_found",
    "yuan_per_visit",
    "max_list_share",
    "meets",
)


def year_summary(table: pl.DataFrame) -> pl.DataFrame:
    """Per world of a simulated-audits table (``world`` and
    :data:`sentinel.simulation.AUDIT_COLUMNS`, months in order): improper persons found and
    the oracle's over the year, their share, the shares of the first and the last
    :data:`SPAN` months, visits, yuan found and per visit, the longest list, and ``meets``
    (the year's share at least :data:`MIN_YEAR_SHARE`, the last months' share not below the
    first's), worst year first."""

    def share(found: pl.Expr, oracle: pl.Expr) -> pl.Expr:
        return pl.when(oracle > 0).then(found / oracle)

    found, oracle = pl.col("found"), pl.col("oracle")
    return (
        table.group_by("world", maintain_order=True)
        .agg(
            found.sum(),
            oracle.sum(),
            share(found.head(SPAN).sum(), oracle.head(SPAN).sum()).alias("first_share"),
            share(found.tail(SPAN).sum(), oracle.tail(SPAN).sum()).alias("last_share"),
            pl.col("visits").sum(),
            pl.col("yuan_found").sum(),
            pl.col("list_share").max().alias("max_list_share"),
        )
        .with_columns(
            share(found, oracle).alias("year_share"),
            (pl.col("yuan_found") / pl.col("visits").clip(lower_bound=1)).alias("yuan_per_visit"),
        )
        .with_columns(
            (
                (pl.col("year_share") >= MIN_YEAR_SHARE)
                & (pl.col("last_share") >= pl.col("first_share"))
            )
            .fill_null(False)
            .alias("meets")
        )
        .select(YEAR_COLUMNS)
        .sort("year_share", "world", nulls_last=True)
    )
