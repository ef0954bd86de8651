"""What the carried cases need to know of their persons: the last period paid, whether
the pension was terminated, the last certification pass and an acquittal since."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from features.certification import certification_state
from features.custody import custody_spans, link_custody
from features.history import register_people
from sentinel.config import SentinelConfig
from sentinel.detection.history import (
    MonthHistory,
    delivered_up_to,
    month_ledger_runs,
    month_register_runs,
)


def last_paid(
    history: MonthHistory,
    persons: pl.LazyFrame,
    config: SentinelConfig,
    custody_links: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """``person_id, last_paid_index, pension_terminated, last_pass_date, last_pass_method,
    acquitted_on``:
    the latest period each of ``persons`` was paid a regular pension for, up to
    ``history.month`` (null when never); whether the register last showed their pension
    terminated (the centre knows: what was overpaid is settled by the termination
    procedure, not found by a visit); and their last certification pass as
    :func:`features.certification.certification_state` (the certification cycle of
    ``policy.suspend_after_months``) has it, the one the suspension list reads; and the day
    an acquittal ended their pre-trial detention (null when none did: the detention's
    pension is then paid back, nothing improper remains of it).

    ``custody_links``: the month's custody records linked to its whole register
    (:attr:`sentinel.detection.MonthDetection.custody_links`), so that they are not linked
    again; without them the records are linked to ``persons`` here."""
    cycle = config.policy.suspend_after_months
    runs = month_ledger_runs(history).filter(pl.col("kind") == "regular")
    paid = (
        runs.join(persons, on="person_id", how="semi")
        .group_by("person_id")
        .agg(pl.col("period_end").max().alias("last_paid_index"))
    )
    people = register_people(month_register_runs(history).join(persons, on="person_id", how="semi"))
    status = people.select(
        "person_id", (pl.col("status") == "terminated").alias("pension_terminated")
    )
    certified = certification_state(
        people,
        history.certifications.join(persons, on="person_id", how="semi"),
        history.month,
        cycle,
    ).select(
        "person_id",
        "last_pass_date",
        pl.col("last_pass_method").fill_null(
            pl.when(pl.col("last_pass_date").is_not_null()).then(pl.lit("register"))
        ),
    )
    return (
        persons.select("person_id")
        .unique()
        .join(paid, on="person_id", how="left")
        .join(status, on="person_id", how="left")
        .join(certified, on="person_id", how="left")
        .join(_acquitted(history, people, config, custody_links), on="person_id", how="left")
        .with_columns(pl.col("pension_terminated").fill_null(False))
    )


def _acquitted(
    history: MonthHistory,
    people: pl.LazyFrame,
    config: SentinelConfig,
    links: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """``person_id, acquitted_on``: the latest acquittal linked to one of ``people`` that
    ended a pre-trial detention of theirs (``links``: the records already linked to the
    register, else linked to ``people`` here)."""
    empty = pl.LazyFrame(schema={"person_id": pl.String, "acquitted_on": pl.Date})
    if history.custody is None:
        return empty
    records = delivered_up_to(history.custody, history.month).collect()
    if records.is_empty():
        return empty
    if links is None:
        links = link_custody(
            records.lazy(), people, min_confidence=config.detection.min_death_link_confidence
        )
    else:
        # A person's custodies are all theirs: the spans of these persons need only their links.
        links = links.join(people.select("person_id"), on="person_id", how="semi")
    spans = custody_spans(records.lazy(), links, history.month, config.policy)
    acquitted = spans.filter((pl.col("kind") == "pretrial_detention") & pl.col("acquitted"))
    return (
        records.lazy()
        .filter(pl.col("kind") == "acquittal")
        .join(links, on="record_id", how="inner", suffix="_linked")
        .select(pl.col("person_id_linked").alias("person_id"), pl.col("start_date"))
        .join(acquitted.select("person_id").unique(), on="person_id", how="semi")
        .group_by("person_id")
        .agg(pl.col("start_date").max().alias("acquitted_on"))
    )


def last_paid_over(
    histories: Iterable[MonthHistory],
    persons: pl.LazyFrame,
    config: SentinelConfig,
    custody_links: pl.LazyFrame | None = None,
) -> pl.DataFrame:
    """:func:`last_paid` of ``persons`` over histories that split the persons between them:
    a county's one history, or a province's partitions (a person's payments, register rows
    and certifications are all in their owner's partition; the other partitions know
    nothing of them)."""
    return (
        pl.concat([last_paid(h, persons, config, custody_links).collect() for h in histories])
        .sort("person_id", "last_pass_date", "last_pass_method", nulls_last=False)
        .group_by("person_id")
        .agg(
            pl.col("last_paid_index").max(),
            pl.col("pension_terminated").any(),
            pl.col("last_pass_date").last(),
            pl.col("last_pass_method").last(),
            pl.col("acquitted_on").max(),
        )
    )
