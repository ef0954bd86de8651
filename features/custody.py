"""Custody: pensions paid for months the person was imprisoned or detained, and increases
paid while on probation, parole or supervised release.

Policy (劳社厅函〔2001〕44号, ``policy.custody_suspends`` and ``policy.custody_freezes`` in
the configuration):

* imprisonment suspends the pension from the month after it starts until the month of
  release (restored from the next month), with no back-pay for the period;
* pre-trial detention suspends it likewise, paid back if the person is acquitted;
* probation, parole and supervised release keep the pension, but no increase while they
  last.

A custody record is linked to a register person like a death record
(:func:`features.deaths.link_deaths`: a mistyped or missing ID is matched on name and
birth date) and counts only as proof (``detection.min_death_link_confidence``). A
``release`` or ``acquittal`` record ends the person's open imprisonment or detention that
started before it; an ``end_date`` on the record ends it too.

Reasons (typology ``custody_paid``):

* ``CP_PAID_IN_PRISON`` (proof): regular payments, and arrears, for periods of a suspending
  custody that ended in a conviction (imprisonment, or detention followed by one);
* ``CP_PAID_IN_DETENTION`` (signal): the same for a pre-trial detention not yet decided
  (paid back if the person is acquitted);
* ``CP_RAISED_ON_PROBATION`` (proof): what a regular payment for a period under probation,
  parole or supervised release pays above the last regular amount before it began, and
  arrears for such a period already paid (an increase paid back).
"""

from __future__ import annotations

import polars as pl

from features.cases import fmt_yuan, reason_rows
from features.ledger import rows_of
from features.linkage import LinkColumns, PreparedRegister, link_records
from sentinel.config import DetectionConfig, PolicyConfig
from sentinel.periods import date_month_index, month_number, period_of_index

#: Custody kinds that end an earlier custody of the person.
ENDING = ("release", "acquittal")

_OPEN = 10**6  # a month index no custody reaches: "not ended yet"


#: The register persons' columns custody records are linked to.
_REGISTER_COLUMNS = LinkColumns(
    key="person_id", person_id="person_id", name="name", birth_date="birth_date"
)


def link_custody(
    custody: pl.LazyFrame,
    people: pl.LazyFrame,
    *,
    min_confidence: float,
    prepared: PreparedRegister | None = None,
) -> pl.LazyFrame:
    """``record_id, person_id`` of the custody records linked as proof to a register person
    (the death records' linker and standard, ``min_confidence`` being
    ``detection.min_death_link_confidence``; the records carry no sex, and the register's
    sex is its IDs'). ``prepared``: ``people`` already normalised for death records
    (:data:`features.deaths.DEATH_REGISTER_COLUMNS`)."""
    links = link_records(
        custody.select("record_id", "person_id", "name", "birth_date"),
        people,
        records_cols=LinkColumns(
            key="record_id", person_id="person_id", name="name", birth_date="birth_date"
        ),
        register_cols=_REGISTER_COLUMNS,
        min_confidence=min_confidence,
        prepared=None if prepared is None else prepared.without_sex(),
    )
    return (
        links.filter(pl.col("method") != "name_only")
        .select(
            pl.col("record_key").cast(pl.String).alias("record_id"),
            pl.col("register_key").cast(pl.String).alias("person_id"),
        )
        .unique("record_id")
    )


def custody_spans(
    custody: pl.LazyFrame, links: pl.LazyFrame, month: str, policy: PolicyConfig
) -> pl.LazyFrame:
    """One row per linked custody of a person: ``person_id, record_id, kind, source,
    start_date, first_index, last_index, acquitted, convicted``.

    ``links``: ``record_id, person_id`` of the records linked as proof. Month indexes
    (:func:`sentinel.periods.month_index`): a suspending custody covers the months after the
    one it started in up to the one it ended in (or ``month`` while open); a freezing one
    covers the months from its start to its end. ``acquitted``: a detention an acquittal
    ended; ``convicted``: a detention the person's imprisonment followed.
    """
    now = month_number(month)
    suspends, freezes = list(policy.custody_suspends), list(policy.custody_freezes)
    linked = custody.join(
        links.select("record_id", "person_id"), on="record_id", how="inner", suffix="_record"
    )
    linked = linked.select(
        pl.col("person_id_record").alias("person_id"),
        "record_id",
        "kind",
        "source",
        "start_date",
        "end_date",
    )
    custodies = linked.filter(pl.col("kind").is_in(suspends + freezes))
    endings = linked.filter(pl.col("kind").is_in(ENDING)).select(
        "person_id", pl.col("kind").alias("_ending"), pl.col("start_date").alias("_ended_on")
    )
    prisons = linked.filter(pl.col("kind") == "imprisonment").select(
        "person_id", pl.col("start_date").alias("_sentenced_on")
    )
    # The first release or acquittal after a custody began ends it.
    ended = (
        custodies.join(endings, on="person_id", how="left")
        .filter(pl.col("_ended_on").is_null() | (pl.col("_ended_on") >= pl.col("start_date")))
        .sort("_ended_on", nulls_last=True)
        .group_by("record_id", maintain_order=True)
        .agg(pl.col("_ended_on").first(), pl.col("_ending").first())
    )
    convicted = (
        custodies.filter(pl.col("kind") == "pretrial_detention")
        .join(prisons, on="person_id", how="inner")
        .filter(pl.col("_sentenced_on") >= pl.col("start_date"))
        .select("record_id")
        .unique()
        .with_columns(pl.lit(True).alias("convicted"))
    )
    end = pl.min_horizontal(pl.col("end_date"), pl.col("_ended_on"))
    start_index = date_month_index(pl.col("start_date"))
    end_index = date_month_index(end).fill_null(_OPEN)
    suspending = pl.col("kind").is_in(suspends)
    return (
        custodies.join(ended, on="record_id", how="left")
        .join(convicted, on="record_id", how="left")
        .with_columns(
            pl.when(suspending).then(start_index + 1).otherwise(start_index).alias("first_index"),
            pl.min_horizontal(end_index, pl.lit(now)).alias("last_index"),
            (pl.col("_ending") == "acquittal").fill_null(False).alias("acquitted"),
            pl.col("convicted").fill_null(pl.col("kind") == "imprisonment"),
        )
        .filter(pl.col("last_index") >= pl.col("first_index"))
        .select(
            "person_id",
            "record_id",
            "kind",
            "source",
            "start_date",
            "first_index",
            "last_index",
            "acquitted",
            "convicted",
        )
    )


def custody_paid(
    ledger: pl.LazyFrame, spans: pl.LazyFrame, detection: DetectionConfig, policy: PolicyConfig
) -> pl.LazyFrame:
    """Reason rows of pensions paid against the custody policy (see the module).

    ``ledger``: the paid ledger as runs (:mod:`features.ledger`); ``spans``:
    :func:`custody_spans`. The custody kinds that suspend or freeze come from the ``policy``
    section, the probabilities from ``detection``.
    """
    det = detection
    rows = rows_of(ledger, spans).filter(pl.col("period_index").is_not_null())
    suspending = spans.filter(
        pl.col("kind").is_in(list(policy.custody_suspends)) & ~pl.col("acquitted")
    ).rename({"kind": "custody_kind"})
    paid = (
        rows.filter(pl.col("kind").is_in(["regular", "arrears"]) & (pl.col("amount") > 0))
        .join(suspending, on="person_id", how="inner")
        .filter(pl.col("period_index").is_between(pl.col("first_index"), pl.col("last_index")))
        .group_by("person_id", "record_id", "source", "start_date", "convicted")
        .agg(
            pl.col("period_index").n_unique().alias("months"),
            pl.col("period_index").min().alias("first"),
            pl.col("amount").sum().alias("paid"),
        )
        # One row per person and reason: the custody that covers the most paid months (a
        # detention and the sentence that followed it cover the same months).
        .sort(
            ["person_id", "convicted", "paid", "months", "record_id"],
            descending=[False, False, True, True, False],
        )
        .unique(["person_id", "convicted"], keep="first", maintain_order=True)
    )
    # A sentence makes the paid months proof; an undecided detention, a signal.
    rows_by_reason = [
        reason_rows(
            paid.filter(pl.col("convicted") == convicted),
            code,
            weight,
            pl.col("paid"),
            pl.col("source"),
            pl.col("start_date"),
            pl.col("months"),
            period_of_index(pl.col("first")),
            fmt_yuan(pl.col("paid")),
        )
        for convicted, code, weight in (
            (True, "CP_PAID_IN_PRISON", det.custody_paid_probability),
            (False, "CP_PAID_IN_DETENTION", det.custody_detention_probability),
        )
    ]
    return pl.concat([*rows_by_reason, _raised(rows, spans, detection, policy)])


def _raised(
    rows: pl.LazyFrame, spans: pl.LazyFrame, detection: DetectionConfig, policy: PolicyConfig
) -> pl.LazyFrame:
    """``CP_RAISED_ON_PROBATION``: increases paid for periods of a freezing custody."""
    frozen_spans = spans.filter(pl.col("kind").is_in(list(policy.custody_freezes)))
    regular = rows.filter(pl.col("kind") == "regular").join(
        frozen_spans.select("person_id", "record_id", "kind", "first_index", "last_index"),
        on="person_id",
        how="inner",
        suffix="_custody",
    )
    # The amount in force when it began: the last regular payment for an earlier period.
    before = (
        regular.filter(pl.col("period_index") < pl.col("first_index"))
        .sort("period_index")
        .group_by("record_id", "scheme")
        .agg(pl.col("amount").last().alias("frozen"))
    )
    during = regular.filter(
        pl.col("period_index").is_between(pl.col("first_index"), pl.col("last_index"))
    ).join(before, on=["record_id", "scheme"], how="inner")
    raised_regular = during.select(
        "person_id",
        "record_id",
        "kind_custody",
        "period_index",
        (pl.col("amount") - pl.col("frozen")).clip(0.0).alias("excess"),
    )
    # Arrears for a period of the custody that was already paid: an increase paid back.
    paid_periods = during.select(
        "person_id", "record_id", "kind_custody", "period_index", "scheme"
    ).unique()
    raised_back = (
        rows.filter((pl.col("kind") == "arrears") & (pl.col("amount") > 0))
        .join(paid_periods, on=["person_id", "period_index", "scheme"], how="inner")
        .select(
            "person_id",
            "record_id",
            "kind_custody",
            "period_index",
            pl.col("amount").alias("excess"),
        )
    )
    raised = (
        pl.concat([raised_regular, raised_back])
        .filter(pl.col("excess") > 0.005)
        .group_by("person_id", "record_id", "kind_custody")
        .agg(
            pl.col("period_index").n_unique().alias("months"),
            pl.col("period_index").min().alias("first"),
            pl.col("excess").sum().alias("excess"),
        )
        .sort(["person_id", "excess", "record_id"], descending=[False, True, False])
        .unique("person_id", keep="first", maintain_order=True)
    )
    return reason_rows(
        raised,
        "CP_RAISED_ON_PROBATION",
        detection.custody_raise_probability,
        pl.col("excess"),
        pl.col("kind_custody"),
        pl.col("months"),
        period_of_index(pl.col("first")),
        fmt_yuan(pl.col("excess")),
    )


__all__ = ["ENDING", "custody_paid", "custody_spans"]
