"""What the pre-disbursement screen (:mod:`sentinel.screen`) reads of the register, in the
form the monthly run keeps it next to the register runs (:mod:`features.history`).

:func:`register_persons` is the narrow table the screen links death and custody records
to and names held payees from; :func:`terminated_since` the pensions the last register
snapshot shows terminated, with the month from which a payment is held. Both are read
from the register runs up to a month, exactly as the screen would derive them from those
runs, so a screen that reads them holds what one that derives them does.
"""

from __future__ import annotations

import polars as pl

from features.history import register_people
from sentinel.periods import month_number, period_of_index

__all__ = ["PERSON_COLUMNS", "SCREEN_RUN_COLUMNS", "register_persons", "terminated_since"]

#: The register facts the screen reads per person: the linkage's fields and the name.
PERSON_COLUMNS: tuple[str, ...] = ("person_id", "name", "sex", "birth_date")
#: The register run columns both tables are read from.
SCREEN_RUN_COLUMNS: tuple[str, ...] = (
    *PERSON_COLUMNS,
    "scheme",
    "township",
    "village",
    "benefit_start",
    "status",
    "first_index",
    "last_index",
)


def register_persons(runs: pl.LazyFrame) -> pl.LazyFrame:
    """One row per person (:data:`PERSON_COLUMNS`) from the latest snapshot listing them
    (:func:`features.history.register_people` of ``runs``, the register runs up to a
    month)."""
    return register_people(runs).select(PERSON_COLUMNS)


def terminated_since(runs: pl.LazyFrame, month: str) -> pl.LazyFrame:
    """``person_id, scheme, since``: the pensions the last register snapshot up to
    ``month`` shows terminated, and ``since`` (``YYYY-MM``) the month they were terminated
    in (a payment for a later period is not due; that month is, as the month of a death is,
    and so are arrears for months the pension ran).

    ``runs``: the register up to ``month`` as runs, a run listing its row in each month
    from ``first_index`` to ``last_index``. ``since`` is the first terminated month after
    the last month the pension ran.
    """
    now = month_number(month)
    terminated = pl.col("status") == "terminated"
    # Only a pension shown terminated some month can be: the rest of the register is not read.
    runs = runs.join(
        runs.filter(terminated).select("person_id", "scheme").unique(),
        on=["person_id", "scheme"],
        how="semi",
    )
    ended = (
        runs.filter(pl.col("last_index") >= now)
        .group_by("person_id", "scheme")
        .agg(terminated.all().alias("_ended"))
        .filter(pl.col("_ended"))
        .select("person_id", "scheme")
    )
    snapshots = runs.join(ended, on=["person_id", "scheme"], how="semi").select(
        "person_id", "scheme", "status", "first_index", "last_index"
    )
    ran = (
        snapshots.filter(pl.col("status") != "terminated")
        .group_by("person_id", "scheme")
        .agg(pl.col("last_index").max().alias("_ran_until"))
    )
    return (
        snapshots.filter(terminated)
        .join(ran, on=["person_id", "scheme"], how="left")
        .filter(pl.col("_ran_until").is_null() | (pl.col("last_index") > pl.col("_ran_until")))
        .group_by("person_id", "scheme")
        .agg(pl.max_horizontal("first_index", pl.col("_ran_until") + 1).min().alias("since"))
        .with_columns(period_of_index(pl.col("since")).alias("since"))
    )
