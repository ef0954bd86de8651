"""From reason rows to what a case is worth: base rates, common reasons, proof tiers.

A rule's prior probability means something only against how often the rule fires. A reason
code that this month fires for more than ``detection.common_reason_share`` of a scheme's
recipients is a fact about the county (a policy event, a data habit, a wrong setting), not
about the person: its configured probability is scaled down by the ratio, so that alone it
cannot bring anyone into the audit capacity. Reasons whose family already weighs them by
their observed share (:data:`sentinel.reasons.REASONS`, ``observed``) are left as they are.

Cases are then put in tiers (:func:`case_tiers`): proof, signals, or none (context, pending
proof or common signals alone: no case). Suspected deaths with the life table alone are
*leads*: the county's most probable are kept to fill the visits the cases leave. The audit
order that follows from the tiers is :mod:`features.audit_order`.
"""

from __future__ import annotations

import polars as pl

from features.cases import merge_reasons
from features.suspects import SUSPECT_TYPOLOGIES
from sentinel.periods import month_number
from sentinel.reasons import reason_table

#: Tiers of a case, best first in the ranking.
TIER_PROOF = 2
TIER_SIGNAL = 1
TIER_NONE = 0
#: The typology of leads: persons with nothing but the life table against them.
LEAD_TYPOLOGY = "suspected_unreported_death"
#: The typology of a case an upstream list asks to have answered (:mod:`features.suspects`).
SUSPECT_TYPOLOGY = "upstream_suspect"

_EVIDENCE_ROLES = ("proof", "signal")


def recipients_by_scheme(ledger: pl.LazyFrame, month: str) -> pl.LazyFrame:
    """Persons paid a regular pension for ``month``'s period, per scheme: ``scheme,
    recipients`` (the ledger as runs, :mod:`features.ledger`, with ``period_end``)."""
    now = month_number(month)
    return (
        ledger.filter(
            (pl.col("kind") == "regular")
            & (pl.col("period_index") <= now)
            & (pl.col("period_end") >= now)
        )
        .group_by("scheme")
        .agg(pl.col("person_id").n_unique().alias("recipients"))
        .filter(pl.col("scheme").is_not_null())
    )


def reason_base_rates(
    reasons: pl.LazyFrame, people: pl.LazyFrame, recipients: pl.LazyFrame
) -> pl.LazyFrame:
    """How often each reason code fires this month among each scheme's recipients.

    ``reasons``: reason rows (:data:`features.cases.REASON_SCHEMA`); ``people``: one row per
    register person with ``scheme``; ``recipients``: :func:`recipients_by_scheme`. A person
    off the register (scheme null) is compared with every scheme's recipients together. Returns ``reason, scheme, persons, recipients, share`` and
    ``share_low``: the lower end of the share's 95% Wilson interval, so that a reason is
    called common only when the county's data say so, not when two planted cases make 2% of
    a scheme of a hundred.
    """
    total = recipients.select(pl.col("recipients").sum()).with_columns(
        pl.lit(None, dtype=pl.String).alias("scheme")
    )
    denominators = pl.concat([recipients, total.select("scheme", "recipients")])
    return (
        reasons.select("person_id", "reason")
        .unique()
        .join(people.select("person_id", "scheme"), on="person_id", how="left")
        .group_by("reason", "scheme")
        .agg(pl.len().alias("persons"))
        .join(denominators, on="scheme", how="left", nulls_equal=True)
        .with_columns(
            (pl.col("persons") / pl.col("recipients").clip(1)).alias("share"),
            _wilson_low(pl.col("persons"), pl.col("recipients").clip(1)).alias("share_low"),
        )
        .sort("reason", "scheme", nulls_last=True)
    )


#: The normal quantile of a two-sided 95% interval.
_Z95 = 1.959964


def _wilson_low(persons: pl.Expr, of: pl.Expr) -> pl.Expr:
    """Lower end of the 95% Wilson score interval of the share ``persons / of``."""
    n = of.cast(pl.Float64)
    p = persons.cast(pl.Float64) / n
    z2 = _Z95**2
    centre = p + z2 / (2 * n)
    spread = _Z95 * (p * (1 - p) / n + z2 / (4 * n * n)).sqrt()
    return ((centre - spread) / (1 + z2 / n)).clip(lower_bound=0.0)


def _with_rates(
    reasons: pl.LazyFrame, people: pl.LazyFrame, base_rates: pl.LazyFrame
) -> pl.LazyFrame:
    # Joins that keep the rows' order: a rule family lists a person's reasons in the order
    # the evidence sentence should read.
    return (
        reasons.join(
            people.select("person_id", "scheme"), on="person_id", how="left", maintain_order="left"
        )
        .join(
            base_rates.select("reason", "scheme", "share", "share_low"),
            on=["reason", "scheme"],
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        .join(reason_table(), on="reason", how="left", maintain_order="left")
        .with_columns(
            pl.col("role").fill_null("signal"),
            pl.col("observed").fill_null(False),
            pl.col("share").fill_null(0.0),
            pl.col("share_low").fill_null(0.0),
        )
    )


def discount_common_reasons(
    reasons: pl.LazyFrame, people: pl.LazyFrame, base_rates: pl.LazyFrame, common_share: float
) -> pl.LazyFrame:
    """Reason rows with each person-typology's probability scaled down when all of its
    evidence is common.

    A proof or signal code with a configured prior that is common (the lower end of its
    share's interval above ``common_share``) and fires for a share ``s`` of the scheme's
    recipients counts ``common_share / s`` of its prior; a person-typology
    keeps the factor of its least common evidence (one rare reason is enough to stand).
    Codes whose family weighs them by their observed share are left as they are.
    """
    rated = _with_rates(reasons, people, base_rates).with_columns(
        pl.when(
            pl.col("role").is_in(_EVIDENCE_ROLES)
            & ~pl.col("observed")
            & (pl.col("share_low") > common_share)
        )
        .then((pl.lit(common_share) / pl.col("share")).clip(upper_bound=1.0))
        .when(pl.col("role").is_in(_EVIDENCE_ROLES))
        .then(1.0)
        .alias("_factor")
    )
    factor = pl.col("_factor").max().over("person_id", "typology").fill_null(1.0)
    return rated.with_columns((pl.col("probability") * factor).alias("probability")).select(
        reasons.collect_schema().names()
    )


def case_tiers(
    reasons: pl.LazyFrame, people: pl.LazyFrame, base_rates: pl.LazyFrame, common_share: float
) -> pl.LazyFrame:
    """Each person's tier: ``person_id, tier, common_only``.

    * :data:`TIER_PROOF`: a proof code that is not common (its share of the scheme's
      recipients not surely above ``common_share``), in a typology without a pending or exculpatory code for the
      person (a death record contradicted by an in-person pass, or not yet due, is not
      proof);
    * :data:`TIER_SIGNAL`: any other proof code, or a signal code that is not common;
    * :data:`TIER_NONE`: context or pending codes only, or common signal codes only: not a
      case this month (the base rate says the signal is about the county, not the person).

    ``common_only``: every proof or signal code of the person is common.
    """
    rated = _with_rates(reasons, people, base_rates)
    doubted = (
        rated.filter(pl.col("role").is_in(["pending", "exculpatory"]))
        .select("person_id", "typology")
        .unique()
        .with_columns(pl.lit(True).alias("_doubted"))
    )
    evidence = rated.filter(pl.col("role").is_in(_EVIDENCE_ROLES)).join(
        doubted, on=["person_id", "typology"], how="left"
    )
    common = (pl.col("share_low") > common_share) & ~pl.col("observed")
    standing_proof = (pl.col("role") == "proof") & ~common & pl.col("_doubted").is_null()
    tiers = evidence.group_by("person_id").agg(
        pl.when(standing_proof.any())
        .then(pl.lit(TIER_PROOF))
        # Common signals alone are a fact about the county: no case (a common proof code
        # still lists the person, among the signals: a linked death is never dropped).
        .when(common.all() & (pl.col("role") != "proof").all())
        .then(pl.lit(TIER_NONE))
        .otherwise(pl.lit(TIER_SIGNAL))
        .alias("tier"),
        common.all().alias("common_only"),
    )
    everyone = reasons.select("person_id").unique()
    return everyone.join(tiers, on="person_id", how="left").with_columns(
        pl.col("tier").fill_null(TIER_NONE).cast(pl.Int8),
        pl.col("common_only").fill_null(False),
    )


_SUSPECT_PREFIX = "US_SUSPECT_"


def _suspect_kinds() -> pl.LazyFrame:
    return pl.LazyFrame(
        [
            (kind, typology)
            for kind, typologies in SUSPECT_TYPOLOGIES.items()
            for typology in typologies
        ],
        schema={"suspect_type": pl.String, "typology": pl.String},
        orient="row",
    )


def _suspected(reasons: pl.LazyFrame) -> pl.LazyFrame:
    """``suspect_type, person_id``: the persons an open upstream suspect names, per kind."""
    return (
        reasons.filter(pl.col("reason").str.starts_with(_SUSPECT_PREFIX))
        .select(
            pl.col("reason")
            .str.strip_prefix(_SUSPECT_PREFIX)
            .str.to_lowercase()
            .alias("suspect_type"),
            "person_id",
        )
        .unique()
    )


def suspect_lifts(reasons: pl.LazyFrame, recipients: int, lead_below: float = 0.0) -> pl.LazyFrame:
    """How much likelier each kind of upstream suspect is to be improper than any recipient,
    from how often the product's own rules find them: ``suspect_type, suspects,
    corroborated, evidence_persons, lift``.

    A suspect is corroborated when its person has a proof or signal reason in a typology that
    speaks to its kind (:data:`features.suspects.SUSPECT_TYPOLOGIES`). If the upstream list
    and the rules err independently given the truth, the share of the list's suspects the
    rules find is ``pi * r`` (``pi`` the list's precision, ``r`` the rules' recall) and the
    share of all ``recipients`` they find is ``b * r`` (``b`` the county's improper rate):
    their ratio is ``pi / b``, the rules' recall cancels. Estimated at the lower end of the
    corroborated share's 95% Wilson interval (a handful of suspects proves little), never
    below 1: a list the rules do not corroborate is no evidence, for or against.

    A suspected unreported death below ``lead_below`` (the rule's floor) is no finding of
    the rules: the survival rule scores every death suspect, and the lift must not count
    the probability it is about to weigh.
    """
    kinds = _suspect_kinds()
    below_floor = (pl.col("typology") == LEAD_TYPOLOGY) & (pl.col("probability") < lead_below)
    evidence = (
        reasons.filter(~below_floor)
        .join(reason_table().select("reason", "role"), on="reason", how="left")
        .filter(pl.col("role").is_in(_EVIDENCE_ROLES))
        .join(kinds, on="typology", how="inner")
        .select("suspect_type", "person_id")
        .unique()
    )
    suspected = _suspected(reasons)
    corroborated = suspected.join(evidence, on=["suspect_type", "person_id"], how="semi")

    def count(frame: pl.LazyFrame, name: str) -> pl.LazyFrame:
        return frame.group_by("suspect_type").agg(pl.len().alias(name))

    base = pl.lit(max(recipients, 1), dtype=pl.Float64)
    share = (pl.col("evidence_persons") / base).clip(lower_bound=1.0 / base)
    return (
        kinds.select("suspect_type")
        .unique(maintain_order=True)
        .join(count(suspected, "suspects"), on="suspect_type", how="left")
        .join(count(corroborated, "corroborated"), on="suspect_type", how="left")
        .join(count(evidence, "evidence_persons"), on="suspect_type", how="left")
        .with_columns(
            pl.col("suspects", "corroborated", "evidence_persons").fill_null(0).cast(pl.Int64)
        )
        .with_columns(
            pl.when(pl.col("suspects") > 0)
            .then(
                (_wilson_low(pl.col("corroborated"), pl.col("suspects").clip(1)) / share).clip(
                    lower_bound=1.0
                )
            )
            .otherwise(1.0)
            .alias("lift")
        )
    )


def corroborate_suspects(reasons: pl.LazyFrame, lifts: pl.LazyFrame) -> pl.LazyFrame:
    """``reasons`` with the own evidence of each upstream suspect weighed by its kind's lift
    (:func:`suspect_lifts`): in a typology that speaks to the suspect, the probability's
    odds times the lift (the list and the rules are two independent witnesses of the same
    fact). The suspect's own reason, and any evidence of a person no list names, are left
    as they are."""
    marks = (
        _suspected(reasons)
        .join(lifts.select("suspect_type", "lift"), on="suspect_type", how="inner")
        .join(_suspect_kinds(), on="suspect_type", how="inner")
        .group_by("person_id", "typology")
        .agg(pl.col("lift").max())
    )
    p, lift = pl.col("probability"), pl.col("lift").fill_null(1.0)
    return (
        reasons.join(marks, on=["person_id", "typology"], how="left", maintain_order="left")
        .with_columns(
            pl.when(lift > 1.0)
            .then(p * lift / (1.0 - p + p * lift))
            .otherwise(p)
            .alias("probability")
        )
        .drop("lift")
    )


def _without_idle_leads(reasons: pl.LazyFrame, lead_below: float) -> pl.LazyFrame:
    """``reasons`` less the suspected-death rows below the floor ``lead_below`` of persons
    with a reason of another typology and no list naming their death.

    Below the floor a suspected death only makes a lead: beside another typology's reasons
    it adds nothing. Beside a list that suspects the same death it is what the list's lift
    weighs (:func:`corroborate_suspects`), whatever else the person shows: a reason common
    in the county (a standard the payroll has not caught up with) must not silence the list.
    """
    others = (
        reasons.filter(
            (pl.col("typology") != LEAD_TYPOLOGY) & (pl.col("reason") != "US_SUSPECT_DEATH")
        )
        .select("person_id")
        .unique()
        .with_columns(pl.lit(True).alias("_other"))
    )
    named = (
        reasons.filter(pl.col("reason") == "US_SUSPECT_DEATH")
        .select("person_id")
        .unique()
        .with_columns(pl.lit(True).alias("_named"))
    )
    below_floor = (pl.col("typology") == LEAD_TYPOLOGY) & (pl.col("probability") < lead_below)
    return (
        reasons.join(others, on="person_id", how="left", maintain_order="left")
        .join(named, on="person_id", how="left", maintain_order="left")
        .filter(~(below_floor & pl.col("_other").is_not_null() & pl.col("_named").is_null()))
        .drop("_other", "_named")
    )


def score_reasons(
    reasons: pl.LazyFrame,
    people: pl.LazyFrame,
    base_rates: pl.LazyFrame,
    common_share: float,
    lead_below: float = 0.0,
    *,
    recipients: int,
) -> pl.LazyFrame:
    """One row per person with a reason: :func:`features.cases.merge_reasons` of the
    reasons with the evidence upstream suspects corroborate weighed up
    (:func:`corroborate_suspects`, against the county's ``recipients``) and common ones
    discounted (:func:`discount_common_reasons`), and the person's ``tier`` and
    ``common_only`` (:func:`case_tiers`).

    ``people``: ``person_id, scheme``; ``base_rates``: :func:`reason_base_rates` of the
    whole county (a partitioned run passes every partition's reasons and recipients). A
    suspected unreported death below ``lead_below`` (the rule's floor; its family lists the
    most probable below it to fill visits) is a lead, whatever its signals. ``lead_rank``:
    the person's rank among the suspected deaths by the rule's probability (ties by
    ``person_id``), null without one.
    """
    # Leads are the most probable suspected deaths of the county: ranked on the rule's own
    # probability before anything else (a partition keeps its own most probable, the county
    # its own; the county's are among them).
    p_death = (
        reasons.filter(pl.col("typology") == LEAD_TYPOLOGY)
        .group_by("person_id")
        .agg(pl.col("probability").max().alias("_p_death"))
    )
    lead_rank = p_death.with_columns(
        pl.struct(-pl.col("_p_death"), pl.col("person_id")).rank("ordinal").alias("lead_rank")
    ).drop("_p_death")
    reasons = _without_idle_leads(reasons, lead_below)
    corroborated = corroborate_suspects(reasons, suspect_lifts(reasons, recipients, lead_below))
    discounted = discount_common_reasons(corroborated, people, base_rates, common_share)
    tiers = case_tiers(reasons, people, base_rates, common_share)
    merged = merge_reasons(discounted).join(tiers, on="person_id", how="left")
    below = (
        (pl.col("tier") == TIER_SIGNAL)
        & (pl.col("typology") == LEAD_TYPOLOGY)
        & (pl.col("rule_probability") < lead_below)
    )
    # A death suspect whose own probability, before the list's lift, is below the floor is
    # the list's case, not a finding of the rules: it keeps the suspect's typology, so that
    # its case is one case from month to month however the lift moves.
    named_dead = pl.col("reasons").list.contains("US_SUSPECT_DEATH")
    own_below = (pl.col("_p_death").fill_null(0.0) < lead_below) & named_dead
    return (
        merged.join(p_death, on="person_id", how="left")
        .with_columns(
            pl.when(below)
            .then(pl.lit(TIER_NONE, dtype=pl.Int8))
            .otherwise(pl.col("tier").cast(pl.Int8))
            .alias("tier"),
            pl.when((pl.col("typology") == LEAD_TYPOLOGY) & own_below)
            .then(pl.lit(SUSPECT_TYPOLOGY))
            .otherwise(pl.col("typology"))
            .alias("typology"),
        )
        .drop("_p_death")
        .join(lead_rank, on="person_id", how="left")
    )


__all__ = [
    "LEAD_TYPOLOGY",
    "TIER_NONE",
    "TIER_PROOF",
    "TIER_SIGNAL",
    "case_tiers",
    "corroborate_suspects",
    "discount_common_reasons",
    "reason_base_rates",
    "recipients_by_scheme",
    "score_reasons",
    "suspect_lifts",
]
