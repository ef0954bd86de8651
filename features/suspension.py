"""The suspension list: pensioners whose survival-certification cycle has expired.

Policy (``policy.suspend_after_months``, 12): a pension whose holder has no passing
certification for 12 months is suspended from the 13th month, and restored when a pass
arrives. The centre acts on this list each month; it is an output of its own, separate
from the audit case list.
"""

from __future__ import annotations

import polars as pl

from features.certification import certification_state
from sentinel.periods import month_number

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
    "bounded",
    "recorded_since",
)
#: The list's row order: suspensions before restorations, by township, then person (a
#: person listed in two schemes: by scheme, so that the order is repeatable).
SUSPENSION_ORDER: tuple[str, ...] = ("action", "township", "person_id", "scheme")


def suspension_list(
    register: pl.LazyFrame,
    certifications: pl.LazyFrame,
    people: pl.LazyFrame,
    *,
    month: str,
    suspend_after_months: int,
) -> pl.LazyFrame:
    """Who to suspend and who to restore in ``month``.

    ``register``: the month's register snapshot. ``certifications``: every certification
    received up to ``month``. ``people``: one row per person with ``benefit_start``,
    ``first_listed`` and the register's ``last_cert_date`` / ``cert_due_date`` when it
    carries them (:func:`features.history.register_people`). The certification state is
    :func:`features.certification.certification_state`, the one detection reads: a person
    with no pass recorded has lapsed once the months recorded without one exceed
    ``suspend_after_months`` (``bounded``: the months are a lower bound), never on a guess
    about a pass before the history began.

    ``action`` is ``suspend`` for an *active* pension with no pass for more than
    ``suspend_after_months`` months, and ``restore`` for a *suspended* pension whose holder
    passed a certification since it lapsed. ``lapsed_on``: the day the cycle ran out (null
    for a bounded person: the day is not in the data).
    """
    state = certification_state(people, certifications, month, suspend_after_months)
    rows = (
        register.group_by("person_id", "scheme")
        .agg(
            pl.col("name").first(),
            pl.col("township").first(),
            pl.col("village").first(),
            pl.col("status").first().alias("register_status"),
        )
        .join(state, on="person_id", how="left")
    )
    action = (
        pl.when((pl.col("register_status") == "active") & pl.col("lapsed"))
        .then(pl.lit("suspend"))
        .when((pl.col("register_status") == "suspended") & ~pl.col("lapsed") & pl.col("pass_known"))
        .then(pl.lit("restore"))
    )
    return (
        rows.with_columns(
            action.alias("action"),
            pl.when(~pl.col("bounded"))
            .then(pl.col("last_pass_date").dt.offset_by(f"{suspend_after_months}mo"))
            .alias("lapsed_on"),
            pl.col("months_since_verified").alias("months_since_pass"),
        )
        .filter(pl.col("action").is_not_null())
        .select(SUSPENSION_COLUMNS)
        .sort(*SUSPENSION_ORDER)
    )


def custody_actions(
    register: pl.LazyFrame, spans: pl.LazyFrame, *, month: str, suspends: tuple[str, ...]
) -> pl.LazyFrame:
    """Custody's lines of the suspension list (:data:`SUSPENSION_COLUMNS`, the certification
    columns empty), from :func:`features.custody.custody_spans` of ``month``.

    ``suspend_custody``: an active pension of a person in a suspending custody (``suspends``)
    not ended by ``month`` (from the month after it began, not paid back);
    ``restore_custody``: a suspended pension of a person whose suspending custodies have all
    ended before ``month`` (release, sentence served, or an acquittal: then paid back).
    """
    now = month_number(month)
    suspending = spans.filter(pl.col("kind").is_in(list(suspends)))
    ongoing = (
        suspending.filter(~pl.col("acquitted") & (pl.col("last_index") >= now))
        .select("person_id")
        .unique()
    )
    ended = suspending.filter(pl.col("last_index") < now).select("person_id").unique()
    rows = register.group_by("person_id", "scheme").agg(
        pl.col("name").first(),
        pl.col("township").first(),
        pl.col("village").first(),
        pl.col("status").first().alias("register_status"),
    )
    suspend = (
        rows.join(ongoing, on="person_id", how="semi")
        .filter(pl.col("register_status") == "active")
        .with_columns(pl.lit("suspend_custody").alias("action"))
    )
    restore = (
        rows.join(ended, on="person_id", how="semi")
        .join(ongoing, on="person_id", how="anti")
        .filter(pl.col("register_status") == "suspended")
        .with_columns(pl.lit("restore_custody").alias("action"))
    )
    empty = {
        "last_pass_date": pl.Date,
        "last_pass_method": pl.String,
        "lapsed_on": pl.Date,
        "months_since_pass": pl.Int64,
        "bounded": pl.Boolean,
        "recorded_since": pl.String,
    }
    return (
        pl.concat([suspend, restore])
        .with_columns(pl.lit(None, dtype=t).alias(c) for c, t in empty.items())
        .select(SUSPENSION_COLUMNS)
    )
