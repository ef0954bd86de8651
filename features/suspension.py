"""The suspension list: pensioners whose survival-certification cycle has expired.

Policy (``policy.suspend_after_months``, 12): a pension whose holder has no passing
certification for 12 months is suspended from the 13th month, and restored when a pass
arrives. The centre acts on this list each month; it is an output of its own, separate
from the audit case list.
"""

from __future__ import annotations

import polars as pl

SUSPENSION_COLUMNS: tuple[str, ...] = (
    "action",
    "person_id",
    "name",
    "scheme",
    "township",
    "village",
    "register_status",
    "last_pass_date",
    "last_pass_method",
    "lapsed_on",
    "months_since_pass",
)
#: The list's row order: suspensions before restorations, by township, then person (a
#: person listed in two schemes: by scheme, so that the order is repeatable).
SUSPENSION_ORDER: tuple[str, ...] = ("action", "township", "person_id", "scheme")


def _month_index(column: pl.Expr) -> pl.Expr:
    return column.dt.year().cast(pl.Int32) * 12 + column.dt.month().cast(pl.Int32) - 1


def suspension_list(
    register: pl.LazyFrame,
    certifications: pl.LazyFrame,
    *,
    month: str,
    history_start: str,
    suspend_after_months: int,
) -> pl.LazyFrame:
    """Who to suspend and who to restore in ``month``.

    ``register``: the month's register snapshot. ``certifications``: every certification
    received up to ``month``. ``history_start`` (``YYYY-MM``): the first month of
    certification history; a person with no pass in the history has lapsed at the latest
    ``suspend_after_months`` after it (``last_pass_date`` null), or after their
    ``benefit_start`` if that is later (a new pensioner was verified when claiming).

    ``action`` is ``suspend`` for an *active* pension with no pass for more than
    ``suspend_after_months`` months, and ``restore`` for a *suspended* pension whose holder
    passed a certification since it lapsed. ``lapsed_on`` is the day the cycle expired.
    """
    year, mon = int(month[:4]), int(month[5:7])
    now_index = year * 12 + mon - 1
    start = pl.lit(f"{history_start}-01").str.to_date()
    last_pass = (
        certifications.filter(pl.col("result") == "pass")
        .sort("cert_date", "method")
        .group_by("person_id")
        .agg(
            pl.col("cert_date").last().alias("last_pass_date"),
            pl.col("method").last().alias("last_pass_method"),
        )
    )
    people = (
        register.group_by("person_id", "scheme")
        .agg(
            pl.col("name").first(),
            pl.col("township").first(),
            pl.col("village").first(),
            pl.col("status").first().alias("register_status"),
            pl.col("benefit_start").min(),
        )
        .join(last_pass, on="person_id", how="left")
    )
    # The last time the person was known alive and verified: a pass, the claim itself, or
    # (for lack of older records) the start of the history.
    verified = pl.max_horizontal(
        pl.col("last_pass_date"), pl.col("benefit_start"), start
    )
    lapsed_on = verified.dt.offset_by(f"{suspend_after_months}mo")
    months_since = pl.lit(now_index) - _month_index(verified)
    expired = months_since > suspend_after_months
    action = (
        pl.when((pl.col("register_status") == "active") & expired)
        .then(pl.lit("suspend"))
        .when((pl.col("register_status") == "suspended") & ~expired & pl.col("last_pass_date").is_not_null())
        .then(pl.lit("restore"))
    )
    return (
        people.with_columns(
            action.alias("action"),
            lapsed_on.alias("lapsed_on"),
            months_since.alias("months_since_pass"),
        )
        .filter(pl.col("action").is_not_null())
        .select(SUSPENSION_COLUMNS)
        .sort(*SUSPENSION_ORDER)
    )
