"""The audit order of a month's cases, and which of them take a visit.

:func:`rank_cases` puts reopened cases first, then proof and signals more likely improper
than not by expected yuan, then the other signals, then leads, each most probable first
(the tiers of :func:`features.scoring.case_tiers`). Cases that a procedure other than a
visit settles (:func:`settled_without_visit`: a terminated pension, an in-person pass since
the listing, a stopped pension awaiting certification) stay listed until closed, after
every case that needs a visit.
"""

from __future__ import annotations

import polars as pl

from features.scoring import LEAD_TYPOLOGY, TIER_NONE, TIER_PROOF, TIER_SIGNAL
from sentinel.reasons import ANSWER_DUE, REFUTED_BY_PASS

#: A case confirmed improper by an audit and paid again after it: above proof.
TIER_REOPENED = 3


def listable(keep_leads: int) -> pl.Expr:
    """Scored persons the list can hold: cases (a tier above none) and leads (a suspected
    unreported death on the life table alone, :data:`LEAD_TYPOLOGY`) among the
    ``keep_leads`` most probable suspected deaths (``lead_rank``), which only fill a
    month's visits the cases leave over (:func:`sentinel.listing.publish_listing`); and
    whoever has a reason an upstream list asks to have answered (:func:`answer_due`)."""
    return (
        (pl.col("tier") > TIER_NONE)
        | ((pl.col("typology") == LEAD_TYPOLOGY) & (pl.col("lead_rank") <= keep_leads)).fill_null(
            False
        )
        | answer_due("reasons")
    )


def answer_due(column: str = "reason_codes") -> pl.Expr:
    """Whether the list of reason codes in ``column`` holds one an upstream list asks to
    have answered (:data:`sentinel.reasons.ANSWER_DUE`): such a case is never left off."""
    return (
        pl.col(column).list.eval(pl.element().is_in(sorted(ANSWER_DUE))).list.any().fill_null(False)
    )


def strength_of(tier: pl.Expr) -> pl.Expr:
    """The case list's ``strength`` of a tier: ``proof`` for proof (and reopened cases,
    whose proof an audit confirmed), ``signal``, or ``lead`` for a tier of none."""
    return (
        pl.when(tier >= TIER_PROOF)
        .then(pl.lit("proof"))
        .when(tier == TIER_NONE)
        .then(pl.lit("lead"))
        .otherwise(pl.lit("signal"))
    )


def tier_of(strength: pl.Expr) -> pl.Expr:
    """The tier of a published ``strength`` (inverse of :func:`strength_of`)."""
    return (
        pl.when(strength == "proof")
        .then(pl.lit(TIER_PROOF, dtype=pl.Int8))
        .when(strength == "lead")
        .then(pl.lit(TIER_NONE, dtype=pl.Int8))
        .otherwise(pl.lit(TIER_SIGNAL, dtype=pl.Int8))
    )


def settled_without_visit(columns: list[str]) -> pl.Expr:
    """Listed cases the centre settles without a field visit: the register has since
    terminated the pension (``pension_terminated``: the termination procedure recovers what
    was overpaid), or an in-person certification since the listing refuted every reason of
    the case (``certified_since``), or an acquittal ended the detention the case is about
    (``acquitted_since``, :func:`sentinel.listing.carried_cases`), or the payments stopped
    with nothing against the person but not being seen alive (:func:`awaiting_certification`).
    Absent columns count as false."""
    settled = awaiting_certification(columns)
    for column in ("pension_terminated", "certified_since", "acquitted_since"):
        if column in columns:
            settled = settled | pl.col(column).fill_null(False)
    return settled


def awaiting_certification(columns: list[str]) -> pl.Expr:
    """Listed cases (``status``, ``reason_codes``) whose payments have stopped and whose every
    reason only says the person was not seen alive recently (``refuted_by_pass``): the
    certification procedure already acts on exactly that evidence. Policy suspends a pension
    from the 13th month without a pass and restores it after one, so a living pensioner
    answers the case at the counter, and with the payments stopped no loss runs while the
    procedure does its work; a field visit would add nothing a pass does not. Listed until
    closed, like every case. False when either column is absent."""
    if "status" not in columns or "reason_codes" not in columns:
        return pl.lit(False)
    codes = pl.col("reason_codes")
    return (
        (pl.col("status") == "payments_stopped")
        & (codes.list.len() > 0)
        & codes.list.eval(pl.element().is_in(sorted(REFUTED_BY_PASS))).list.all()
    ).fill_null(False)


def rank_cases(cases: pl.LazyFrame) -> pl.LazyFrame:
    """``cases`` in audit order with ``priority_rank`` (1 = first).

    Reopened cases first (``status`` ``reopened``: confirmed improper, still paid; their
    ``tier`` becomes :data:`TIER_REOPENED`). Then the cases worth a visit on their own: proof
    (whatever a model learned of it since) and signals more likely improper than not
    (``risk_score`` at least one half), richest first (``expected_recovery``). Then the soft
    signals, most probable first (richest between equals): proof always outranks them,
    whatever the amount. Leads (a tier of none) after them, in the same order. Last, the
    cases the centre settles without a visit (:func:`settled_without_visit`). Ties by
    ``person_id``, then (a person's cases carried side by side) ``typology``, so the order
    never depends on row order.
    """
    names = cases.collect_schema().names()
    reopened = (
        (pl.col("status") == "reopened").fill_null(False) if "status" in names else pl.lit(False)
    )
    terminated = settled_without_visit(names)
    band = (
        pl.when(reopened)
        .then(2)
        .when(terminated)
        .then(-2)
        .when((pl.col("tier") >= TIER_PROOF) | (pl.col("risk_score") >= 0.5))
        .then(1)
        .when(pl.col("tier") > TIER_NONE)
        .then(0)
        .otherwise(-1)
    )
    # Within the first bands, the yuan: the case is worth the visit either way. Below them,
    # most visits find nothing, and a soft signal's amount (all that was paid through a
    # shared account, a whole suspended pension) is what is at stake if it is improper, not
    # what it is likely worth: the most probable first, the amount only between equals.
    key = pl.when(band >= 1).then(pl.col("expected_recovery")).otherwise(pl.col("risk_score"))
    return (
        cases.with_columns(
            pl.when(reopened)
            .then(pl.lit(TIER_REOPENED, dtype=pl.Int8))
            .otherwise(pl.col("tier").cast(pl.Int8))
            .alias("tier"),
            band.alias("_band"),
            key.alias("_key"),
        )
        .sort(
            ["_band", "_key", "expected_recovery", "person_id", "typology"],
            descending=[True, True, True, False, False],
        )
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("priority_rank"))
        .drop("_band", "_key")
    )


__all__ = [
    "TIER_REOPENED",
    "answer_due",
    "awaiting_certification",
    "listable",
    "rank_cases",
    "settled_without_visit",
    "strength_of",
    "tier_of",
]
