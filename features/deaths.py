"""Death records: linked to register persons, and the payments made after them.

:func:`link_deaths` links a death record to a register person (exact ID, or a
mistyped/missing ID matched on name, sex and birth date by :mod:`features.linkage`);
:func:`linked_deaths` keeps the links that are proof (or, as leads, those that only point
at one person); the ``deceased_paid`` rule family (:func:`deceased_paid`) finds the
payments for periods after a linked death the centre has not acted on.
"""

from __future__ import annotations

import polars as pl

from features.cases import fmt_prob, fmt_yuan, reason_rows
from features.ledger import rows_of
from features.linkage import LinkColumns, PreparedRegister, link_records
from sentinel.config import DetectionConfig
from sentinel.periods import date_month_index, month_number, period_of_index

#: The register persons' columns death records are linked to (``features.history.register_people``).
DEATH_REGISTER_COLUMNS = LinkColumns(
    key="person_id", person_id="person_id", name="name", birth_date="birth_date", sex="sex"
)


def link_deaths(
    deaths: pl.LazyFrame, people: pl.LazyFrame, *, prepared: PreparedRegister | None = None
) -> pl.LazyFrame:
    """Link death records to register persons: ``record_id, person_id, confidence, method,
    disagreed``.

    :func:`features.linkage.link_records`: every record's best candidate whatever its
    probability, unless another register person is as likely (:func:`linked_deaths` decides
    what counts). A record with two equally good candidates is not linked (a wrong death
    link stops a living person's pension). ``prepared``: ``people`` already normalised
    (:func:`features.linkage.prepare_register` with :data:`DEATH_REGISTER_COLUMNS`).
    """
    links = link_records(
        deaths,
        people,
        records_cols=LinkColumns(
            key="record_id", person_id="person_id", name="name", birth_date="birth_date", sex="sex"
        ),
        register_cols=DEATH_REGISTER_COLUMNS,
        min_confidence=0.0,
        prepared=prepared,
    )
    return (
        links.select(
            pl.col("record_key").cast(pl.String).alias("record_id"),
            pl.col("register_key").cast(pl.String).alias("person_id"),
            pl.col("confidence").cast(pl.Float64),
            pl.col("method").cast(pl.String),
            pl.col("disagreed"),
        )
        .sort(["confidence", "person_id"], descending=[True, False])
        .unique("record_id", keep="first")
    )


def linked_deaths(
    deaths: pl.LazyFrame,
    people: pl.LazyFrame,
    detection: DetectionConfig,
    *,
    links: pl.LazyFrame | None = None,
    leads: bool = False,
) -> pl.LazyFrame:
    """Per person, the earliest death linked at or above ``min_death_link_confidence`` (of
    the ``detection`` section).

    Returns ``person_id, death_date, source, confidence, link_method, record_id,
    recorded_on``. A record with neither ID nor birth date matches a name, not a person: a
    field auditor would not accept it as proof of death (a namesake may have died), so such
    ``name_only`` links are left out unless ``detection.accept_name_only_death_links``.

    With ``leads=True`` the links that are not proof but point at one person are returned
    instead: they raise a suspected unreported death, never a stop.

    * ``name_only`` links: a name alone is never probable in a county (many people could
      have written it), so such a lead needs no confidence: only that the name singles out
      one register person (the linker's ambiguity rule) and that no field of the record
      speaks against them.
    * *probable* links: a record with an ID or birth date whose best candidate's match
      probability is at least ``min_death_lead_confidence`` (the record is more likely this
      person than not) but below proof, as when a mistyped ID meets a name typed by ear.

    ``links`` is :func:`link_deaths` of the same inputs when the caller already has it.
    """
    links = links if links is not None else link_deaths(deaths, people)
    if "disagreed" not in links.collect_schema().names():
        links = links.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias("disagreed"))
    det = detection
    if leads:
        name_only = (pl.col("method") == "name_only") & (pl.col("disagreed").list.len() == 0)
        probable = (
            (pl.col("method") != "name_only")
            & (pl.col("confidence") >= det.min_death_lead_confidence)
            & (pl.col("confidence") < det.min_death_link_confidence)
        )
        links = links.filter(name_only | probable)
    else:
        links = links.filter(pl.col("confidence") >= det.min_death_link_confidence)
        if not det.accept_name_only_death_links:
            links = links.filter(pl.col("method") != "name_only")
    links = links.drop("disagreed")
    return (
        deaths.select("record_id", "death_date", "source", "recorded_on")
        # The linked records first: a province's death history is a million records, and
        # one region's links a few thousand.
        .join(links.select("record_id"), on="record_id", how="semi")
        .unique("record_id")
        .join(links, on="record_id", how="inner")
        .sort(["death_date", "confidence", "record_id"], descending=[False, True, False])
        .group_by("person_id")
        .agg(
            pl.col("death_date", "source", "confidence").first(),
            pl.col("method").first().alias("link_method"),
            pl.col("record_id").first(),
            pl.col("recorded_on").min(),
        )
    )


def deceased_paid(
    ledger: pl.LazyFrame,
    deaths_linked: pl.LazyFrame,
    evidence: pl.LazyFrame,
    detection: DetectionConfig,
    people: pl.LazyFrame | None = None,
    month: str | None = None,
    *,
    death_payment_lag_months: int,
) -> pl.LazyFrame:
    """Payments for periods after a linked death that the centre has not acted on
    (``DP_PAID_AFTER_DEATH``).

    Improper periods start ``death_payment_lag_months`` (``policy.death_payment_lag_months``)
    months after the death month; the overpayment is everything paid for them (regular,
    arrears, adjustments); probabilities come from the ``detection`` section. Whether a
    field visit is needed depends on whether the centre has acted on the death:

    * register shows the pension terminated: it has; the overpayment is recovered through
      the termination procedure, not a field visit, so the person is not a case here;
    * the record arrived after the latest payroll (``payroll_cutoff_day`` of ``month``):
      the centre has had no payroll to act on it yet (``DP_RECORD_JUST_ARRIVED``); its
      probability is scaled by how often the centre left such a record unacted on before
      (:func:`unacted_shares`, the county's own history); next month decides;
    * otherwise a payroll has passed since the record arrived and the pension is still
      not terminated — typically the ID in the record was mistyped and nobody matched it,
      even if the pension was meanwhile suspended for a lapsed certification (suspension
      recovers nothing): a full-probability case.
    A pass of an in-person certification *after* the death date contradicts the record: the
    case stays (someone must check the record) but its probability drops
    (``DP_ALIVE_AFTER_DEATH``).
    ``people`` gives the latest register ``status`` per person; ``month`` is the month
    being scored.
    """
    det = detection
    after = _paid_after_death(ledger, deaths_linked, evidence, death_payment_lag_months)
    after = _not_acted_on(after, people, month, det)
    contradicted = (pl.col("strong_cert_index") > date_month_index(pl.col("death_date"))).fill_null(
        False
    )
    p = (
        pl.when(contradicted)
        .then(det.deceased_paid_contradicted_probability)
        .otherwise(det.deceased_paid_probability * pl.col("confidence"))
    )
    return pl.concat(
        [
            _paid_after_death_reason(after, p),
            _alive_after_death_reason(after.filter(contradicted), det),
            _record_just_arrived_reason(after.filter(pl.col("just_arrived")), p),
        ]
    )


#: ``record_kind`` of a linked death record: it carried the pensioner's exact ID, which the
#: centre's own matching finds, or a mistyped or missing one, which it misses.
RECORD_KINDS: tuple[str, ...] = ("exact_id", "inexact_id")


def _record_kind() -> pl.Expr:
    """``record_kind`` (:data:`RECORD_KINDS`) from a death link's ``link_method``."""
    return (
        pl.when(pl.col("link_method") == "exact_id")
        .then(pl.lit(RECORD_KINDS[0]))
        .otherwise(pl.lit(RECORD_KINDS[1]))
        .alias("record_kind")
    )


def unacted_records(
    ledger: pl.LazyFrame,
    deaths_linked: pl.LazyFrame,
    people: pl.LazyFrame,
    month: str,
    *,
    payroll_cutoff_day: int,
    death_payment_lag_months: int,
) -> pl.LazyFrame:
    """The linked death records whose first payroll has come by ``month``, and whether the
    centre left each unacted on: ``person_id, record_kind, unacted``.

    A record's first payroll is its month when it arrived before ``payroll_cutoff_day``,
    else the next month. A record counts once that payroll is in the history, with the
    person paid in the drop of the month before it: both payrolls are then seen (a record
    whose month before lies before the history cannot show it, so it is not counted, in a
    county or in any of a province's partitions alike). Unacted: paid, at that payroll or later, for a period
    beyond ``death_payment_lag_months`` after the death, and not terminated on the
    register since — what :func:`deceased_paid` raises as a case.
    """
    records = deaths_linked.select(
        "person_id",
        _record_kind(),
        date_month_index(pl.col("death_date")).alias("death_index"),
        (
            date_month_index(pl.col("recorded_on"))
            + (pl.col("recorded_on").dt.day() >= payroll_cutoff_day).cast(pl.Int32)
        ).alias("acting_index"),
    ).filter(pl.col("acting_index") <= month_number(month))
    acting = pl.col("acting_index")
    terminated = people.filter(pl.col("status") == "terminated").select(
        "person_id", pl.lit(True).alias("terminated")
    )
    return (
        rows_of(ledger, records)
        .join(records, on="person_id", how="inner")
        .group_by("person_id", "record_kind")
        .agg(
            (pl.col("drop_index") == acting - 1).any().alias("on_payroll"),
            (
                (pl.col("drop_index") >= acting)
                & (pl.col("period_index") > pl.col("death_index") + death_payment_lag_months)
            )
            .any()
            .alias("paid_after"),
        )
        .filter(pl.col("on_payroll"))
        .join(terminated, on="person_id", how="left")
        .select(
            "person_id",
            "record_kind",
            (pl.col("paid_after") & ~pl.col("terminated").fill_null(False)).alias("unacted"),
        )
    )


def unacted_counts(records: pl.LazyFrame) -> pl.LazyFrame:
    """``record_kind, records, unacted`` of :func:`unacted_records`: per record kind, how
    many records and how many left unacted (a province sums its partitions' counts)."""
    return records.group_by("record_kind").agg(
        pl.len().cast(pl.Int64).alias("records"),
        pl.col("unacted").sum().cast(pl.Int64).alias("unacted"),
    )


def unacted_shares(counts: pl.LazyFrame) -> pl.LazyFrame:
    """``record_kind, records, unacted, unacted_share`` for every kind of
    :data:`RECORD_KINDS`: the counts summed, and the share left unacted as the posterior
    mean under the uninformative Jeffreys prior (one half where the county has no record of
    the kind yet)."""
    kinds = pl.LazyFrame({"record_kind": list(RECORD_KINDS)})
    summed = counts.group_by("record_kind").agg(pl.col("records", "unacted").sum())
    return (
        kinds.join(summed, on="record_kind", how="left")
        .with_columns(pl.col("records", "unacted").fill_null(0).cast(pl.Int64))
        .with_columns(
            ((pl.col("unacted") + 0.5) / (pl.col("records") + 1.0)).alias("unacted_share")
        )
    )


def scale_just_arrived(reasons: pl.LazyFrame, shares: pl.LazyFrame) -> pl.LazyFrame:
    """``reasons`` with the ``deceased_paid`` probability of each person whose death record
    has only just arrived (``DP_RECORD_JUST_ARRIVED``) scaled by the share of earlier
    records of its kind the centre left unacted on (:func:`unacted_shares`), and those
    counts written into the reason's facts.

    The county's own history says what the next payroll will do with the record: a centre
    that stops every ID-matched pension at once leaves little to visit, one whose matching
    never sees a mistyped ID leaves a case as sure as any other paid after death.
    """
    arrived = (
        reasons.filter(pl.col("reason") == "DP_RECORD_JUST_ARRIVED")
        .select("person_id", pl.col("facts").list.get(1).alias("record_kind"))
        .join(shares, on="record_kind", how="left")
    )
    # The reasons' order decides ties downstream (merge_reasons): the join must keep it.
    scaled = reasons.join(
        arrived.select("person_id", "records", "unacted", "unacted_share"),
        on="person_id",
        how="left",
        maintain_order="left",
    )
    arrived_row = pl.col("reason") == "DP_RECORD_JUST_ARRIVED"
    return scaled.with_columns(
        pl.when((pl.col("typology") == "deceased_paid") & pl.col("unacted_share").is_not_null())
        .then(pl.col("probability") * pl.col("unacted_share"))
        .otherwise(pl.col("probability"))
        .alias("probability"),
        pl.when(arrived_row)
        .then(
            pl.concat_list(
                pl.col("facts").list.slice(0, 2),
                pl.concat_list(
                    pl.col("records").cast(pl.String), pl.col("unacted").cast(pl.String)
                ),
            )
        )
        .otherwise(pl.col("facts"))
        .alias("facts"),
    ).drop("records", "unacted", "unacted_share")


def _paid_after_death(
    ledger: pl.LazyFrame, deaths_linked: pl.LazyFrame, evidence: pl.LazyFrame, lag: int
) -> pl.LazyFrame:
    """Per person with a linked death, what was paid for periods more than ``lag`` months
    after the death month (``months``, ``paid``, ``first_period``), the death record, and
    the last in-person pass (``strong_cert_index``)."""
    return (
        rows_of(ledger, deaths_linked)
        .join(deaths_linked, on="person_id", how="inner")
        .with_columns(date_month_index(pl.col("death_date")).alias("death_index"))
        .filter(pl.col("period_index") > pl.col("death_index") + lag)
        .group_by("person_id")
        .agg(
            pl.col("period_index").n_unique().alias("months"),
            pl.col("amount").fill_null(0.0).sum().alias("paid"),
            period_of_index(pl.col("period_index").min()).alias("first_period"),
            pl.col("death_date", "source", "confidence", "link_method").first(),
            pl.col("recorded_on").min(),
        )
    ).join(evidence.select("person_id", "strong_cert_index"), on="person_id", how="left")


def _not_acted_on(
    after: pl.LazyFrame, people: pl.LazyFrame | None, month: str | None, det: DetectionConfig
) -> pl.LazyFrame:
    """The persons of ``after`` whose pension the register does not show terminated, with
    ``just_arrived``: the record came after the latest payroll of ``month`` (none when
    ``month`` is None)."""
    now = month_number(month) if month is not None else None
    record_index = date_month_index(pl.col("recorded_on"))
    # The first payroll that could act on the record: its month if it arrived before the
    # cut-off day, else the next month.
    acting_payroll = record_index + (pl.col("recorded_on").dt.day() >= det.payroll_cutoff_day).cast(
        pl.Int32
    )
    after = after.with_columns(
        (pl.lit(now) < acting_payroll if now is not None else pl.lit(False))
        .fill_null(False)
        .alias("just_arrived")
    )
    if people is not None:
        after = after.join(
            people.select(
                "person_id",
                (pl.col("status") == "terminated").alias("terminated"),
                pl.col("last_listed"),
            ),
            on="person_id",
            how="left",
        )
    else:
        after = after.with_columns(
            pl.lit(False).alias("terminated"), pl.lit(None, dtype=pl.String).alias("last_listed")
        )
    return after.filter(~pl.col("terminated").fill_null(False))


def _paid_after_death_reason(after: pl.LazyFrame, p: pl.Expr) -> pl.LazyFrame:
    """``DP_PAID_AFTER_DEATH`` (:func:`deceased_paid`): the record and what was paid."""
    paid = pl.col("paid")
    return reason_rows(
        after,
        "DP_PAID_AFTER_DEATH",
        p,
        paid,
        pl.col("source"),
        pl.col("death_date"),
        pl.col("link_method"),
        fmt_prob(pl.col("confidence")),
        pl.col("months"),
        pl.col("first_period"),
        fmt_yuan(paid),
    )


def _alive_after_death_reason(contradicted: pl.LazyFrame, det: DetectionConfig) -> pl.LazyFrame:
    """``DP_ALIVE_AFTER_DEATH`` (:func:`deceased_paid`): an in-person pass after the death."""
    return reason_rows(
        contradicted,
        "DP_ALIVE_AFTER_DEATH",
        det.deceased_paid_contradicted_probability,
        pl.col("paid"),
        period_of_index(pl.col("strong_cert_index")),
    )


def _record_just_arrived_reason(arrived: pl.LazyFrame, p: pl.Expr) -> pl.LazyFrame:
    """``DP_RECORD_JUST_ARRIVED`` (:func:`deceased_paid`): no payroll could act on it yet.
    Its probability and its last two facts (the county's earlier records of its kind, and
    how many of them were left unacted on) are set once the whole county's records are
    counted (:func:`scale_just_arrived`)."""
    return reason_rows(
        arrived,
        "DP_RECORD_JUST_ARRIVED",
        p,
        pl.col("paid"),
        pl.col("recorded_on"),
        _record_kind(),
        pl.lit(None, dtype=pl.String),
        pl.lit(None, dtype=pl.String),
    )
