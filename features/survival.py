"""Being alive without a death record: survival signals, and the deaths they suggest.

``suspected_unreported_death`` has no death record (the rule family that has one is
:mod:`features.deaths`) and weighs survival evidence
(:func:`features.certification.survival_evidence`): how long since the last in-person
proof of life, how strong each later certification was, the person's age against a
Gompertz life table, and changes of account or collector after the last in-person check
(:func:`features.survival_signals.survival_signals`), each signal by how often the county's
paid pensioners show it (:func:`features.survival_signals.signal_shares`).
"""

from __future__ import annotations

import polars as pl

from features.cases import choose_code, fmt_prob, fmt_yuan, reason_rows
from features.ledger import rows_of
from features.survival_signals import OBSERVED_SIGNALS, signal_shares, survival_signals
from sentinel.config import DetectionConfig
from sentinel.periods import date_month_index, month_number, period_of_index


def suspected_unreported_death(
    ledger: pl.LazyFrame,
    people: pl.LazyFrame,
    evidence: pl.LazyFrame,
    changes: pl.LazyFrame,
    deaths_linked: pl.LazyFrame,
    month: str,
    detection: DetectionConfig,
    *,
    certification_cycle_months: int,
    leads: pl.LazyFrame | None = None,
    shares: pl.LazyFrame | None = None,
    keep_top: int = 0,
    scored_anyway: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Paid persons without a death record who are probably dead, with a probability.

    Prior: Gompertz probability of dying since the last credible proof of life
    (:func:`survival_signals`), times the share of deaths that go unreported
    (``unreported_death_share``), as odds. Each signal the person shows multiplies them by
    its likelihood ratio: the share of unreported deaths that show it (configuration, a
    planning assumption the audit outcomes correct) over the share of the scheme's paid
    persons that show it this month (``shares``, :func:`signal_shares` of the whole county;
    computed from these persons when None; at least one person). A signal most living
    pensioners show (an administrative wave of new accounts, a short history) is no
    evidence; no signal counts against. ``leads`` (:func:`features.deaths.linked_deaths` with
    ``leads=True``) set the likely death month to the record's:

    * a death record naming only this person's name, no ID or birth date, and no other
      pensioner of that name: ``lr_same_name_death_record``;
    * a probable link of confidence ``c`` (the linker's match probability): the person is
      dead if the record is theirs, else as likely as without it,
      ``c + (1 - c) * p``.

    ``est_overpayment`` is what was paid for periods after the likely death, taken as the
    midpoint between the last credible proof of life and the scored month (under a rising hazard
    the conditional death time is near it for the short gaps that matter).

    Persons below ``detection.min_suspected_death_probability`` are left out, but for the
    ``keep_top`` most probable of them (the list may need them to fill a month's visits) and
    the persons of ``scored_anyway`` (``person_id``: an upstream list suspects them dead, and
    their own probability is what that list's lift weighs, :func:`features.scoring.corroborate_suspects`),
    these even when nothing was paid after the likely death (``est_overpayment`` 0: the list
    is owed an answer whatever the product estimates was overpaid).
    Rates and likelihood ratios come from the ``detection`` section;
    ``certification_cycle_months`` is ``policy.certification_cycle_months``.
    """
    det = detection
    signals = survival_signals(
        ledger,
        people,
        evidence,
        changes,
        month,
        detection,
        certification_cycle_months=certification_cycle_months,
    )
    if shares is None:
        shares = signal_shares(signals)
    base = signals.join(deaths_linked.select("person_id"), on="person_id", how="anti")
    base = _with_signal_shares(_with_leads(base, leads), shares)
    scored = _probable_enough(
        _death_probability(base, det, month_number(month)), det, keep_top, scored_anyway
    )
    # (Read three times below: cached, else every read plans the persons' joins again.)
    scored = scored.cache()
    overpaid = _overpaid_after_likely_death(ledger, scored)
    # A person an upstream list suspects dead is scored even if nothing was paid after the
    # likely death: the list is owed an answer, and the probability is what its lift weighs.
    scored = (
        scored.join(overpaid, on="person_id", how="left")
        .with_columns(pl.col("overpaid").fill_null(0.0), pl.col("months_overpaid").fill_null(0))
        .filter((pl.col("overpaid") > 0) | pl.col("_anyway"))
        .drop("_anyway")
    )
    return _suspected_death_reasons(scored, certification_cycle_months)


def _with_leads(base: pl.LazyFrame, leads: pl.LazyFrame | None) -> pl.LazyFrame:
    """``base`` with the death record that is a lead to each person
    (:func:`features.deaths.linked_deaths` with ``leads=True``): ``lead_death_date``,
    ``lead_source`` and ``lead_confidence`` (null for a name-only lead); all null without."""
    if leads is None:
        return base.with_columns(
            pl.lit(None, dtype=pl.Date).alias("lead_death_date"),
            pl.lit(None, dtype=pl.String).alias("lead_source"),
            pl.lit(None, dtype=pl.Float64).alias("lead_confidence"),
        )
    return base.join(
        leads.select(
            "person_id",
            pl.col("death_date").alias("lead_death_date"),
            pl.col("source").alias("lead_source"),
            pl.when(pl.col("link_method") != "name_only")
            .then(pl.col("confidence"))
            .alias("lead_confidence"),
        ),
        on="person_id",
        how="left",
    )


def _with_signal_shares(base: pl.LazyFrame, shares: pl.LazyFrame) -> pl.LazyFrame:
    """``base`` with its scheme's share of paid persons showing each signal
    (``<signal>_share``) and the share one person makes (``one_person``)."""
    share = pl.col("persons") / pl.col("paid")
    wide = shares.group_by("scheme").agg(
        (1.0 / pl.col("paid").first()).alias("one_person"),
        *[
            share.filter(pl.col("signal") == name).first().alias(f"{name}_share")
            for name in OBSERVED_SIGNALS
        ],
    )
    return base.join(wide, on="scheme", how="left", nulls_equal=True)


def _death_probability(base: pl.LazyFrame, det: DetectionConfig, now: int) -> pl.LazyFrame:
    """``probability`` that each person of ``base`` died unreported (the mortality prior as
    odds, times the signals' likelihood ratios, lifted by a probable death record),
    ``has_lead`` and ``likely_death_index``."""
    has_lead = pl.col("lead_death_date").is_not_null()
    probable = pl.col("lead_confidence").is_not_null()
    name_lead = has_lead & ~probable
    lr = pl.lit(1.0)
    for name, field in OBSERVED_SIGNALS.items():
        observed = pl.max_horizontal(pl.col(name + "_share"), pl.col("one_person")).fill_null(1.0)
        ratio = pl.max_horizontal(pl.lit(1.0), pl.lit(getattr(det, field)) / observed)
        lr = lr * pl.when(pl.col(name)).then(ratio).otherwise(1.0)
    lr = lr * pl.when(name_lead).then(det.lr_same_name_death_record).otherwise(1.0)
    prior_odds = pl.col("p_died") * det.unreported_death_share / (1.0 - pl.col("p_died")).clip(1e-6)
    odds = prior_odds * lr
    without_record = odds / (1.0 + odds)
    c = pl.col("lead_confidence")
    return base.with_columns(
        pl.when(probable)
        .then(c + (1.0 - c) * without_record)
        .otherwise(without_record)
        .alias("probability"),
        has_lead.alias("has_lead"),
        pl.when(has_lead)
        .then(date_month_index(pl.col("lead_death_date")))
        .otherwise(((pl.col("alive_index") + pl.lit(now)) / 2.0).floor())
        .cast(pl.Int32)
        .alias("likely_death_index"),
    )


def _probable_enough(
    scored: pl.LazyFrame,
    det: DetectionConfig,
    keep_top: int,
    scored_anyway: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """The persons at or above ``min_suspected_death_probability``, or among the
    ``keep_top`` most probable of those paid after their likely death (nothing else could be
    overpaid), or in ``scored_anyway``."""
    threshold = scored.filter(pl.col("last_paid_index") > pl.col("likely_death_index")).select(
        pl.col("probability")
        .sort(descending=True)
        .get(keep_top - 1, null_on_oob=True)
        .alias("_top")
        if keep_top > 0
        else pl.lit(None, dtype=pl.Float64).alias("_top")
    )
    anyway = pl.lit(False)
    if scored_anyway is not None:
        scored = scored.join(
            scored_anyway.select("person_id").unique().with_columns(pl.lit(True).alias("_anyway")),
            on="person_id",
            how="left",
        )
        anyway = pl.col("_anyway").fill_null(False)
    return (
        scored.join(threshold, how="cross")
        .filter(
            (pl.col("probability") >= det.min_suspected_death_probability)
            | (pl.col("probability") >= pl.col("_top")).fill_null(False)
            | anyway
        )
        .drop("_top")
        .with_columns(anyway.alias("_anyway"))
    )


def _overpaid_after_likely_death(ledger: pl.LazyFrame, scored: pl.LazyFrame) -> pl.LazyFrame:
    """What each scored person was paid for periods after their likely death: ``overpaid``
    (yuan) and ``months_overpaid``."""
    return (
        rows_of(ledger, scored)
        .join(scored.select("person_id", "likely_death_index"), on="person_id", how="inner")
        .filter(pl.col("period_index") > pl.col("likely_death_index"))
        .group_by("person_id")
        .agg(
            pl.col("amount").fill_null(0.0).sum().alias("overpaid"),
            pl.col("period_index").n_unique().alias("months_overpaid"),
        )
    )


def _suspected_death_reasons(scored: pl.LazyFrame, cycle: int) -> pl.LazyFrame:
    """The reason rows of the persons :func:`suspected_unreported_death` scored: one per
    signal shown, with the facts its sentence states (``cycle``: the certification cycle in
    months)."""
    return pl.concat(
        [
            _same_name_record(scored),
            _probable_record(scored),
            _certification_lapsed(scored, cycle),
            _no_pass_seen(scored, cycle),
            _weak_face_app(scored),
            _account_changed(scored),
            _collector_added(scored),
            _certification_failed(scored),
            _mortality(scored),
        ]
    )


def _signal_reason(
    frame: pl.LazyFrame, code: str | tuple[pl.Expr, tuple[str, ...]], *facts: pl.Expr
) -> pl.LazyFrame:
    """Reason rows of a suspected unreported death: the person's probability, and what was
    paid after the likely death as the overpayment."""
    return reason_rows(frame, code, pl.col("probability"), pl.col("overpaid"), *facts)


def _mortality(scored: pl.LazyFrame) -> pl.LazyFrame:
    """``SD_MORTALITY`` / ``SD_MORTALITY_UNRECORDED``: the life-table probability."""
    # The mortality clock of a person with no proof of life recorded starts before the
    # history: the sentence says that, not a month.
    unrecorded = pl.col("bounded") & (pl.col("alive_index") <= pl.col("verified_index"))
    return _signal_reason(
        scored,
        choose_code(unrecorded, "SD_MORTALITY_UNRECORDED", "SD_MORTALITY"),
        pl.col("age").floor().cast(pl.Int32),
        pl.when(unrecorded)
        .then(pl.col("recorded_since"))
        .otherwise(period_of_index(pl.col("alive_index"))),
        fmt_prob(pl.col("p_died")),
        pl.col("months_overpaid"),
        fmt_yuan(pl.col("overpaid")),
    )


def _same_name_record(scored: pl.LazyFrame) -> pl.LazyFrame:
    """``SD_SAME_NAME_DEATH_RECORD``: a death record naming only this person's name."""
    return _signal_reason(
        scored.filter(pl.col("has_lead") & pl.col("lead_confidence").is_null()),
        "SD_SAME_NAME_DEATH_RECORD",
        pl.col("lead_source"),
        pl.col("lead_death_date"),
    )


def _probable_record(scored: pl.LazyFrame) -> pl.LazyFrame:
    """``SD_PROBABLE_DEATH_RECORD``: a death record probably this person's, below proof."""
    return _signal_reason(
        scored.filter(pl.col("lead_confidence").is_not_null()),
        "SD_PROBABLE_DEATH_RECORD",
        pl.col("lead_source"),
        pl.col("lead_death_date"),
        fmt_prob(pl.col("lead_confidence")),
    )


def _certification_lapsed(scored: pl.LazyFrame, cycle: int) -> pl.LazyFrame:
    """``SD_CERT_LAPSED``: the cycle ran out since a known pass."""
    # What the history holds, never a count it does not: the last pass and the months since,
    # or that no pass was seen since the person's first snapshot.
    return _signal_reason(
        scored.filter(pl.col("lapsed") & ~pl.col("bounded")),
        "SD_CERT_LAPSED",
        pl.col("months_since_verified"),
        period_of_index(pl.col("verified_index")),
        pl.lit(str(cycle)),
    )


def _no_pass_seen(scored: pl.LazyFrame, cycle: int) -> pl.LazyFrame:
    """``SD_NO_PASS_IN_HISTORY`` / ``SD_NO_RECENT_PASS``: no pass in the months recorded."""
    # A bounded person: the months recorded without a pass, and since when; lapsed once
    # they exceed the cycle (the suspension list suspends them then), else not yet known.
    return _signal_reason(
        scored.filter(pl.col("bounded") & (pl.col("lapsed") | pl.col("unseen"))),
        choose_code(pl.col("lapsed"), "SD_NO_PASS_IN_HISTORY", "SD_NO_RECENT_PASS"),
        pl.col("recorded_since"),
        pl.col("months_since_verified"),
        pl.lit(str(cycle)),
    )


def _weak_face_app(scored: pl.LazyFrame) -> pl.LazyFrame:
    """``SD_WEAK_FACE_APP``: the last pass a face app's, old and after a long gap."""
    return _signal_reason(
        scored.filter(pl.col("weak_face") & ~pl.col("lapsed")),
        "SD_WEAK_FACE_APP",
        period_of_index(pl.col("pass_index")),
        pl.col("age").floor().cast(pl.Int32),
        pl.col("face_gap"),
    )


def _account_changed(scored: pl.LazyFrame) -> pl.LazyFrame:
    """``SD_ACCOUNT_CHANGED``: the account changed after the last in-person check."""
    return _signal_reason(
        scored.filter(pl.col("account_changed")),
        "SD_ACCOUNT_CHANGED",
        period_of_index(pl.col("account_change_index")),
    )


def _collector_added(scored: pl.LazyFrame) -> pl.LazyFrame:
    """``SD_COLLECTOR_ADDED``: a collector added after the last in-person check."""
    return _signal_reason(
        scored.filter(pl.col("collector_added")),
        "SD_COLLECTOR_ADDED",
        period_of_index(pl.col("collector_change_index")),
    )


def _certification_failed(scored: pl.LazyFrame) -> pl.LazyFrame:
    """``SD_CERT_FAILED``: a failed certification since the last pass."""
    return _signal_reason(
        scored.filter(pl.col("fails_since_pass") > 0), "SD_CERT_FAILED", pl.col("fails_since_pass")
    )
