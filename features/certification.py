"""A person's survival-certification state as of a month: one answer for the suspension
list, detection, the case page and the workbook.

The history a county delivers starts some month; what came before is not in the data.
A person's last pass is therefore **known** (a pass in the certifications received, or the
date the register carries, ``last_cert_date``; or the pension claim itself, made in person,
when it falls within the history) or **bounded**: no pass in the months recorded, so the
last one was before the history began, at least that many months ago. Nothing here assumes
when a pass before the history took place.

Policy (``policy.certification_cycle_months``, 12): a pension is suspended from the 13th
month without a pass. ``lapsed`` says so only when the data holds it: for a bounded person
once the months recorded without a pass exceed the cycle.
"""

from __future__ import annotations

import polars as pl

from features.cases import date_month_index, month_index, month_number

__all__ = ["CERTIFICATION_STATE_COLUMNS", "IN_PERSON_METHODS", "certification_state"]

#: Certification methods in which a staff member sees the person.
IN_PERSON_METHODS: tuple[str, ...] = ("on_site", "home_visit")

#: Columns of :func:`certification_state`.
CERTIFICATION_STATE_COLUMNS: tuple[str, ...] = (
    "person_id",
    "last_pass_date",
    "last_pass_method",
    "last_pass_in_person",
    "pass_known",
    "verified_index",
    "months_since_verified",
    "bounded",
    "recorded_since",
    "lapsed",
)


def certification_state(
    people: pl.LazyFrame, certifications: pl.LazyFrame, month: str, cycle: int
) -> pl.LazyFrame:
    """Each person's certification state at the end of ``month``.

    ``people``: ``person_id``, ``benefit_start`` (date), ``first_listed`` (``YYYY-MM``, the
    first month the register lists the person) and, when the register carries them,
    ``last_cert_date`` (date of the last pass in the source system) or ``cert_due_date``
    (when the cycle runs out: a pass ``cycle`` months before). ``certifications``:
    every certification received up to ``month`` (``person_id, cert_date, method,
    result``).

    Columns (:data:`CERTIFICATION_STATE_COLUMNS`):

    * ``last_pass_date``, ``last_pass_method``, ``last_pass_in_person``: the latest pass
      recorded (the register's ``last_cert_date`` counts, its method unknown);
    * ``pass_known``: a pass is recorded;
    * ``verified_index``: month index of the last verification: the last pass, or the
      claim (benefit start) when later; for a bounded person the month before the history
      began (the latest the last pass can have been);
    * ``months_since_verified``: months from then to ``month``: exact, or for a bounded
      person the least it can be;
    * ``bounded``: no pass and no claim within the history: the count is a lower bound;
    * ``recorded_since``: ``YYYY-MM`` the person's records begin (``first_listed``);
    * ``lapsed``: more than ``cycle`` months without a verification, as far as the data
      holds it (a bounded person only once the recorded months exceed the cycle).
    """
    now = month_number(month)
    passes = (
        certifications.filter(
            (pl.col("result") == "pass") & (date_month_index(pl.col("cert_date")) <= now)
        )
        .sort("cert_date", "method")
        .group_by("person_id")
        .agg(pl.col("cert_date").last().alias("_cert_date"), pl.col("method").last().alias("_method"))
    )
    names = people.collect_schema().names()
    carried = pl.col("last_cert_date") if "last_cert_date" in names else pl.lit(None, dtype=pl.Date)
    due = (
        pl.col("cert_due_date").dt.offset_by(f"-{cycle}mo")
        if "cert_due_date" in names
        else pl.lit(None, dtype=pl.Date)
    )
    register_date = pl.max_horizontal(carried.cast(pl.Date), due.cast(pl.Date))
    base = people.select(
        "person_id",
        "benefit_start",
        "first_listed",
        register_date.cast(pl.Date).alias("_register_date"),
    ).join(passes, on="person_id", how="left")
    from_register = pl.col("_register_date").is_not_null() & (
        pl.col("_cert_date").is_null() | (pl.col("_register_date") > pl.col("_cert_date"))
    )
    last_pass_date = pl.when(from_register).then(pl.col("_register_date")).otherwise(pl.col("_cert_date"))
    last_pass_method = pl.when(from_register).then(pl.lit(None, dtype=pl.String)).otherwise(pl.col("_method"))
    first_index = month_index(pl.col("first_listed"))
    claim_index = date_month_index(pl.col("benefit_start"))
    pass_index = date_month_index(pl.col("last_pass_date"))
    claimed_in_history = (claim_index >= first_index).fill_null(False)
    bounded = pl.col("last_pass_date").is_null() & ~claimed_in_history
    verified = (
        pl.when(bounded)
        .then(first_index - 1)
        .otherwise(pl.max_horizontal(pass_index, claim_index))
    )
    return (
        base.with_columns(last_pass_date.alias("last_pass_date"), last_pass_method.alias("last_pass_method"))
        .with_columns(
            pl.col("last_pass_method").is_in(IN_PERSON_METHODS).fill_null(False).alias("last_pass_in_person"),
            pl.col("last_pass_date").is_not_null().alias("pass_known"),
            bounded.alias("bounded"),
            verified.cast(pl.Int32).alias("verified_index"),
        )
        .with_columns(
            (pl.lit(now) - pl.col("verified_index")).alias("months_since_verified"),
            pl.col("first_listed").alias("recorded_since"),
        )
        .with_columns((pl.col("months_since_verified") > cycle).fill_null(False).alias("lapsed"))
        .select(CERTIFICATION_STATE_COLUMNS)
    )
