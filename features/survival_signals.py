"""What the county's paid pensioners show of being alive: survival signals and their shares.

:func:`survival_signals` gives each person paid within the certification cycle their
survival evidence (:func:`features.certification.survival_evidence`), their age against a
Gompertz life table (:func:`gompertz_death_probability`) and the changes of account or
collector since their last in-person check; :func:`signal_shares` counts how many of them
show each signal, the base rate the ``suspected_unreported_death`` rule family
(:mod:`features.survival`) weighs each signal by.
"""

from __future__ import annotations

import polars as pl

from features.cases import per_person
from sentinel.config import DetectionConfig
from sentinel.periods import date_month_index, month_number


def gompertz_death_probability(age: pl.Expr, years: pl.Expr, a: float, b: float) -> pl.Expr:
    """Probability of dying within ``years`` for someone alive at ``age``.

    Gompertz hazard ``mu(x) = a·exp(b·x)``: survival ``exp(-(a/b)·e^{b·age}·(e^{b·years}-1))``.
    """
    cum = (a / b) * (b * age).exp() * ((b * years.clip(0.0)).exp() - 1.0)
    return 1.0 - (-cum).exp()


#: Survival signals weighed by how often the county's paid pensioners show them, with the
#: configuration field holding the share of unreported deaths that show each.
OBSERVED_SIGNALS: dict[str, str] = {
    "lapsed": "uncertified_dead_share",
    "unseen": "uncertified_dead_share",
    "weak_face": "weak_face_dead_share",
    "account_changed": "account_changed_dead_share",
    "collector_added": "collector_added_dead_share",
    "failed": "failed_certification_dead_share",
}


def survival_signals(
    ledger: pl.LazyFrame,
    people: pl.LazyFrame,
    evidence: pl.LazyFrame,
    changes: pl.LazyFrame,
    month: str,
    detection: DetectionConfig,
    *,
    certification_cycle_months: int,
) -> pl.LazyFrame:
    """One row per person paid within the certification cycle
    (``policy.certification_cycle_months``): their survival signals
    (:data:`OBSERVED_SIGNALS`, Booleans) and the mortality prior (``detection`` section).

    * ``lapsed``: the certification cycle has run out, as far as the data holds it
      (:func:`features.certification.certification_state`, the suspension list's answer);
    * ``unseen``: no pass nor claim in the months recorded, fewer than a cycle so far (most
      living pensioners show it early in a history: its weight says so);
    * ``weak_face``: the last pass is by face app, at ``face_app_weak_age`` or older, after
      more than a cycle without a pass (a relative's phone at the door is the known fraud);
    * ``account_changed`` / ``collector_added``: after the last in-person proof of life;
    * ``failed``: a failed certification since the last pass.

    ``alive_index``: the last credible proof of life (an in-person check, a data match, a
    face-app pass that is not weak, the claim; for a person with none recorded, the month
    before the history began, the latest a pass can have been); ``p_died``: the Gompertz
    probability of dying since then.
    """
    det = detection
    cycle = certification_cycle_months
    now = month_number(month)
    base = _mortality_clock(
        _paid_within_cycle(ledger, people, evidence, changes, now, cycle), now, cycle, det
    )
    lapsed = pl.col("lapsed").fill_null(False) & ~pl.col("weak_face")
    unseen = pl.col("bounded").fill_null(False) & ~pl.col("lapsed").fill_null(False)
    account_changed = pl.col("account_change_index") > pl.col("strong_index").fill_null(-1)
    collector_added = (
        pl.col("collector_change_index") > pl.col("strong_index").fill_null(-1)
    ) & pl.col("collector_id").is_not_null()
    failed = pl.col("fails_since_pass").fill_null(0) > 0
    return base.with_columns(
        lapsed.alias("lapsed"),
        unseen.alias("unseen"),
        account_changed.fill_null(False).alias("account_changed"),
        collector_added.fill_null(False).alias("collector_added"),
        failed.fill_null(False).alias("failed"),
        gompertz_death_probability(
            pl.col("age") - pl.col("years_since_alive"),
            pl.col("years_since_alive"),
            det.gompertz_a,
            det.gompertz_b,
        ).alias("p_died"),
    )


def _paid_within_cycle(
    ledger: pl.LazyFrame,
    people: pl.LazyFrame,
    evidence: pl.LazyFrame,
    changes: pl.LazyFrame,
    now: int,
    cycle: int,
) -> pl.LazyFrame:
    """The persons paid for a period within the ``cycle`` months up to month index ``now``
    (``last_paid_index``), with their survival evidence, receiver changes and ``age``."""
    recent = ledger.filter(pl.col("period_end") >= now - cycle + 1)
    paid_recently = per_person(recent, pl.col("period_end").max().alias("last_paid_index"))
    return (
        people.select("person_id", "birth_date", "scheme")
        .join(paid_recently, on="person_id", how="inner")
        .join(evidence.drop("birth_date"), on="person_id", how="left")
        .join(changes, on="person_id", how="left")
        .with_columns(((pl.lit(now) - date_month_index(pl.col("birth_date"))) / 12.0).alias("age"))
    )


def _mortality_clock(
    base: pl.LazyFrame, now: int, cycle: int, det: DetectionConfig
) -> pl.LazyFrame:
    """When the mortality clock of each person of ``base`` started: ``alive_index`` (the
    last credible proof of life), ``weak_face`` and ``face_gap`` (a weak face-app pass does
    not reset it), ``years_since_alive``, ``months_since_pass``, ``observed_months``."""
    # Months without a pass before the last one, as far as the history shows: exact after
    # an earlier pass, at least the months since the history began otherwise.
    face_gap = pl.col("pass_index") - pl.max_horizontal(
        pl.col("prior_pass_index").fill_null(pl.col("first_listed_index") - 1),
        pl.col("strong_index"),
    )
    weak_face = (
        (pl.col("pass_method") == "face_app")
        & (pl.col("age") >= det.face_app_weak_age)
        & (face_gap > cycle).fill_null(False)
    )
    # A weak face-app pass does not reset the mortality clock.
    last_alive = pl.max_horizontal(
        pl.col("strong_index"),
        pl.col("data_match_index"),
        pl.when(~weak_face).then(pl.col("pass_index")),
        pl.when(weak_face).then(pl.col("prior_pass_index")),
        pl.col("verified_index"),
    ).fill_null(now - 120)
    return base.with_columns(
        weak_face.alias("weak_face"), face_gap.alias("face_gap"), last_alive.alias("alive_index")
    ).with_columns(
        ((pl.lit(now) - pl.col("alive_index")) / 12.0).alias("years_since_alive"),
        (pl.lit(now) - pl.col("pass_index")).alias("months_since_pass"),
        # Months of this person's register history, this one included.
        (pl.lit(now) - pl.col("first_listed_index").fill_null(now) + 1).alias("observed_months"),
    )


def signal_shares(signals: pl.LazyFrame) -> pl.LazyFrame:
    """How many of each scheme's persons paid within the cycle show each survival signal:
    ``scheme, signal, persons, paid`` (counts, so that partitions of a county add up)."""
    counts = signals.group_by("scheme").agg(
        pl.len().alias("paid"), *[pl.col(name).sum() for name in OBSERVED_SIGNALS]
    )
    return (
        counts.unpivot(
            index=["scheme", "paid"],
            on=list(OBSERVED_SIGNALS),
            variable_name="signal",
            value_name="persons",
        )
        .select("scheme", "signal", pl.col("persons").cast(pl.Int64), pl.col("paid").cast(pl.Int64))
        .sort("scheme", "signal", nulls_last=True)
    )


__all__ = [
    "OBSERVED_SIGNALS",
    "gompertz_death_probability",
    "signal_shares",
    "survival_signals",
]
