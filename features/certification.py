"""A person's survival-certification state as of a month: one answer for the suspension
list, detection, the case page and the workbook (:func:`certification_state`); and the
proof-of-life timeline the survival rules read from it (:func:`survival_evidence`).

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

from sentinel.periods import date_month_index, month_index, month_number

__all__ = [
    "CERTIFICATION_STATE_COLUMNS",
    "IN_PERSON_METHODS",
    "certification_state",
    "survival_evidence",
]

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
    first_index = month_index(pl.col("first_listed"))
    claim_index = date_month_index(pl.col("benefit_start"))
    pass_index = date_month_index(pl.col("last_pass_date"))
    claimed_in_history = (claim_index >= first_index).fill_null(False)
    bounded = pl.col("last_pass_date").is_null() & ~claimed_in_history
    verified = (
        pl.when(bounded).then(first_index - 1).otherwise(pl.max_horizontal(pass_index, claim_index))
    )
    return (
        _last_pass(people, certifications, now, cycle)
        .with_columns(
            pl.col("last_pass_method")
            .is_in(IN_PERSON_METHODS)
            .fill_null(False)
            .alias("last_pass_in_person"),
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


def _last_pass(
    people: pl.LazyFrame, certifications: pl.LazyFrame, now: int, cycle: int
) -> pl.LazyFrame:
    """``person_id, benefit_start, first_listed`` of ``people`` with the latest pass recorded
    up to month index ``now``: ``last_pass_date`` and ``last_pass_method`` (the register's
    own certification date, when later than every pass received, with no method; a
    ``cert_due_date`` stands for a pass ``cycle`` months before it)."""
    passes = (
        certifications.filter(
            (pl.col("result") == "pass") & (date_month_index(pl.col("cert_date")) <= now)
        )
        .sort("cert_date", "method")
        .group_by("person_id")
        .agg(
            pl.col("cert_date").last().alias("_cert_date"), pl.col("method").last().alias("_method")
        )
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
    last_pass_date = (
        pl.when(from_register).then(pl.col("_register_date")).otherwise(pl.col("_cert_date"))
    )
    last_pass_method = (
        pl.when(from_register).then(pl.lit(None, dtype=pl.String)).otherwise(pl.col("_method"))
    )
    return base.with_columns(
        last_pass_date.alias("last_pass_date"), last_pass_method.alias("last_pass_method")
    )


def survival_evidence(
    certifications: pl.LazyFrame, people: pl.LazyFrame, month: str, *, suspend_after_months: int
) -> pl.LazyFrame:
    """Per person: the proof-of-life timeline as month indexes and counts.

    ``strong_index``: month of the last in-person pass (on-site or home visit) or of the
    benefit start, whichever is later (an application is made in person).
    ``pass_index`` / ``pass_method``: last pass of any method (the register's own last
    certification date included, method unknown); ``prior_pass_index``: the pass before it
    in the history; ``data_match_index``: last data-match pass; ``fails_since_pass``;
    ``first_listed_index``; and the certification state of :func:`certification_state`
    (``verified_index``, ``months_since_verified``, ``bounded``, ``recorded_since``,
    ``lapsed``, ...): the one the suspension list reads.
    """
    certs = certifications.select(
        "person_id",
        "cert_date",
        "method",
        "result",
        date_month_index(pl.col("cert_date")).alias("cert_index"),
    ).filter(pl.col("cert_index") <= month_number(month))
    passes = certs.filter(pl.col("result") == "pass").sort("cert_date")
    # (Conditions as when/then columns, not filters inside the aggregation: a filter is
    # evaluated group by group. Cached: the fails below read the passes too.)
    per_pass = (
        passes.with_columns(
            pl.when(pl.col("method").is_in(IN_PERSON_METHODS))
            .then(pl.col("cert_index"))
            .alias("_strong"),
            pl.when(pl.col("method") == "data_match").then(pl.col("cert_index")).alias("_match"),
        )
        .group_by("person_id")
        .agg(
            pl.col("cert_index").last().alias("pass_index"),
            pl.col("method").last().alias("pass_method"),
            pl.col("_strong").max().alias("strong_cert_index"),
            pl.col("_match").max().alias("data_match_index"),
            pl.col("cert_index").shift(1).last().alias("prior_pass_index"),
        )
        .cache()
    )
    fails = (
        certs.filter(pl.col("result") == "fail")
        .join(per_pass.select("person_id", "pass_index"), on="person_id", how="left")
        .filter(pl.col("cert_index") >= pl.col("pass_index").fill_null(-1))
        .group_by("person_id")
        .agg(pl.len().alias("fails_since_pass"))
    )
    # The certification state (known or bounded by the history's start) is the one the
    # suspension list reads: the register's own last certification date counts as a pass.
    state = certification_state(people, certifications, month, suspend_after_months)
    return (
        people.select("person_id", "birth_date", "benefit_start", "first_listed")
        .join(per_pass, on="person_id", how="left")
        .join(fails, on="person_id", how="left")
        .join(state, on="person_id", how="left")
        .with_columns(
            pl.max_horizontal(
                pl.col("strong_cert_index"), date_month_index(pl.col("benefit_start"))
            ).alias("strong_index"),
            pl.max_horizontal(
                pl.col("pass_index"), date_month_index(pl.col("last_pass_date"))
            ).alias("pass_index"),
            # A later pass the register carries has no method.
            pl.when(date_month_index(pl.col("last_pass_date")) > pl.col("pass_index").fill_null(-1))
            .then(pl.col("last_pass_method"))
            .otherwise(pl.col("pass_method"))
            .alias("pass_method"),
            month_index(pl.col("first_listed")).alias("first_listed_index"),
            pl.col("fails_since_pass").fill_null(0),
        )
        .drop("first_listed")
    )
