"""Reason rows, their merge into one case per person, and the per-person feature frame.

Every rule family (:mod:`features.duplicate_receipt`, :mod:`features.amount_anomaly`,
:mod:`features.identity_anomaly`, :mod:`features.deaths`, :mod:`features.survival`,
:mod:`features.network`, ...) returns *reason rows* (:func:`reason_rows`) with the columns
of :data:`REASON_SCHEMA`:

``person_id``
    the register identity (or the raw payee text for a payee not on the register);
``typology``
    one of :data:`sentinel.contract.TYPOLOGIES`;
``reason``
    a reason code whose sentence template lives in :mod:`sentinel.evidence`;
``probability``
    the rule family's probability that this person's payments are improper *for this
    typology* (every reason row of one person and typology carries the same value);
``est_overpayment``
    yuan already paid improperly under this typology (same for all its reason rows);
``facts``
    the values that fill the reason's sentence, as text, in the template's field order.

:func:`merge_reasons` folds them into one row per person: typologies ranked by expected
yuan, strongest first.
"""

from __future__ import annotations

import polars as pl

from sentinel.contract import SCHEMES, TYPOLOGIES
from sentinel.masking import mask_account_expr
from sentinel.reasons import REASON_CODES, REASONS

REASON_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.String(),
    "typology": pl.String(),
    "reason": pl.String(),
    "probability": pl.Float64(),
    "est_overpayment": pl.Float64(),
    "facts": pl.List(pl.String()),
}

#: Per-person features (numeric; null where a timeline is missing), in this order.
PERSON_FEATURES: tuple[str, ...] = (
    "age",
    "scheme_code",
    "monthly_amount",
    "months_paid",
    "months_since_pass",
    "months_since_strong_evidence",
    "failed_certs_since_pass",
    "last_pass_face_app",
    "account_changed_after_evidence",
    "collector_after_evidence",
    "has_collector",
    "account_people",
    "collector_people",
    "component_size",
)


#: What the learned risk model reads, in this order: the rules' probability (its prior),
#: one indicator per reason code, then person features on fixed scales (so that a weight
#: means the same in every month and county). See :func:`model_features`.
MODEL_FEATURES: tuple[str, ...] = (
    "rule_probability",
    *(f"reason:{code}" for code in REASON_CODES),
    "age_decades_over_60",
    "enterprise",
    "institution",
    "log10_monthly_amount",
    "years_since_strong_evidence",
    "has_collector",
    "log2_account_people",
    "log2_collector_people",
)


def model_features() -> list[pl.Expr]:
    """Expressions computing :data:`MODEL_FEATURES` from a scored feature frame
    (:data:`PERSON_FEATURES`, ``scheme``, ``rule_probability`` and ``reasons``)."""
    return [
        pl.col("rule_probability").cast(pl.Float64),
        *[
            pl.col("reasons")
            .list.contains(code)
            .fill_null(False)
            .cast(pl.Float64)
            .alias(f"reason:{code}")
            for code in REASON_CODES
        ],
        ((pl.col("age") - 60.0) / 10.0).cast(pl.Float64).alias("age_decades_over_60"),
        (pl.col("scheme") == "enterprise").fill_null(False).cast(pl.Float64).alias("enterprise"),
        (pl.col("scheme") == "institution").fill_null(False).cast(pl.Float64).alias("institution"),
        (pl.col("monthly_amount").fill_null(0.0).clip(0.0) + 1.0)
        .log10()
        .alias("log10_monthly_amount"),
        (pl.col("months_since_strong_evidence") / 12.0)
        .cast(pl.Float64)
        .alias("years_since_strong_evidence"),
        pl.col("has_collector").cast(pl.Float64),
        (pl.col("account_people").cast(pl.Float64) + 1.0).log(2).alias("log2_account_people"),
        (pl.col("collector_people").cast(pl.Float64) + 1.0).log(2).alias("log2_collector_people"),
    ]


def fill_unscored(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Person features joined to scored reasons, with the values of a person without any
    reason: probability 0, no overpayment, tier 0, no reason codes."""
    return frame.with_columns(
        pl.col("rule_probability").fill_null(0.0),
        pl.col("est_overpayment").fill_null(0.0),
        pl.col("tier").fill_null(0),
        pl.col("reasons").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        *[pl.col(f"p_{t}").fill_null(0.0) for t in TYPOLOGIES],
    )


def person_scheme_key() -> pl.Expr:
    """One integer per (``person_id``, ``scheme``) pair, for grouping large histories.

    Grouping twelve monthly snapshots of the county on two text columns hashes and encodes
    millions of rows per pass; the ID's dictionary code and the scheme's code packed into one
    integer group the same rows several times faster. Nulls get a code of their own.
    """
    unseen = 2**32 - 1
    person = (
        pl.col("person_id").cast(pl.Categorical).to_physical().cast(pl.UInt64).fill_null(unseen)
    )
    scheme = pl.col("scheme").cast(pl.Categorical).to_physical().cast(pl.UInt64).fill_null(unseen)
    return person * 2**32 + scheme


def scheme_rank() -> pl.Expr:
    """An integer per canonical scheme of the ``scheme`` column (1, 2, … in alphabetical
    order; 0 for none or an unknown one), to order a person's rows of one month repeatably."""
    schemes = sorted(set(SCHEMES.values()))
    return pl.col("scheme").replace_strict(
        schemes, list(range(1, len(schemes) + 1)), default=0, return_dtype=pl.Int64
    )


def per_person(frame: pl.LazyFrame, *aggs: pl.Expr) -> pl.LazyFrame:
    """``frame.group_by("person_id").agg(*aggs)``: one row per person.

    (Grouped on the text itself: since polars 2 that is cheaper than casting a long history to
    a dictionary code first.)
    """
    return frame.group_by("person_id").agg(*aggs)


def surname(name: pl.Expr) -> pl.Expr:
    """Family name: the first character of a Chinese name, else the first word.

    Compound surnames (欧阳, 司马) are rare in the county; treating their first character as
    the surname still groups a family together.
    """
    cleaned = name.str.strip_chars()
    first_word = cleaned.str.split(" ").list.first()
    return (
        pl.when(cleaned.str.contains(r"^[\p{Han}]"))
        .then(cleaned.str.slice(0, 1))
        .otherwise(first_word.str.to_lowercase())
    )


def fmt_yuan(amount: pl.Expr) -> pl.Expr:
    """Yuan rounded to whole yuan, as text (evidence).

    Rounded to fen first: a float sum taken in another row order may differ in its last
    bit, and 31460.4999… against 31460.5000… must not print two different sentences.
    """
    return amount.round(2).round(0).cast(pl.Int64).cast(pl.String)


def fmt_prob(p: pl.Expr) -> pl.Expr:
    """A probability as a whole percentage text (``0.873`` → ``87%``)."""
    return pl.format("{}%", (p * 100).round(0).cast(pl.Int64).cast(pl.String))


def fmt_account(account: pl.Expr) -> pl.Expr:
    """Bank account masked to its last four characters (evidence is read widely)."""
    return mask_account_expr(account)


def facts(*values: pl.Expr) -> pl.Expr:
    """The ``facts`` column: evidence values as a list of text, nulls shown as ``-``."""
    return pl.concat_list([v.cast(pl.String).fill_null("-") for v in values]).alias("facts")


def empty_reasons() -> pl.LazyFrame:
    """A reason frame with no rows."""
    return pl.LazyFrame(schema=REASON_SCHEMA)


def conform_reasons(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Select and cast :data:`REASON_SCHEMA` columns (for concatenation)."""
    return frame.select([pl.col(c).cast(t) for c, t in REASON_SCHEMA.items()])


def reason_rows(
    frame: pl.LazyFrame,
    code: str | tuple[pl.Expr, tuple[str, ...]],
    probability: pl.Expr | float,
    overpayment: pl.Expr,
    *fact_values: pl.Expr,
) -> pl.LazyFrame:
    """The reason rows of ``frame`` (one per row, which must hold ``person_id``): the code,
    its typology from the registry (:data:`sentinel.reasons.REASONS`), the probability, the
    overpayment and the facts its sentence names, in the registry's order.

    ``code`` is a code, or an expression choosing per row among the codes named beside it
    (of one typology, and with the same facts). Raises ``ValueError`` when the facts given
    are not as many as the code's sentence names, or the codes differ in typology.
    """
    codes = (code,) if isinstance(code, str) else code[1]
    typologies = {REASONS[c].typology for c in codes}
    if len(typologies) != 1:
        raise ValueError(f"reason codes {codes} belong to several typologies {sorted(typologies)}")
    for c in codes:
        if len(REASONS[c].fields) != len(fact_values):
            raise ValueError(f"{c} names {REASONS[c].fields}; {len(fact_values)} facts given")
    chosen = pl.lit(code) if isinstance(code, str) else code[0]
    weight = probability if isinstance(probability, pl.Expr) else pl.lit(float(probability))
    return conform_reasons(
        frame.select(
            "person_id",
            pl.lit(typologies.pop()).alias("typology"),
            chosen.alias("reason"),
            weight.alias("probability"),
            overpayment.alias("est_overpayment"),
            facts(*fact_values),
        )
    )


def choose_code(condition: pl.Expr, then: str, otherwise: str) -> tuple[pl.Expr, tuple[str, ...]]:
    """The ``code`` of :func:`reason_rows` that names ``then`` where ``condition`` holds and
    ``otherwise`` elsewhere (two codes of one typology, with the same facts)."""
    chosen = pl.when(condition).then(pl.lit(then)).otherwise(pl.lit(otherwise))
    return chosen, (then, otherwise)


def merge_reasons(reasons: pl.LazyFrame) -> pl.LazyFrame:
    """One row per person from reason rows.

    Per typology the probability and overpayment of its reasons are taken as given (the rule
    family already combined its evidence). Across typologies the probability is a noisy-or
    (independent routes to an improper payment) and the overpayment the largest one (the
    same yuan can be improper for two reasons; adding would double-count). The case's
    ``typology`` is the one with the largest expected yuan (probability × overpayment, then
    probability); its reasons come first.

    Returns ``person_id, typology, rule_probability, est_overpayment, reasons (list),
    reason_facts (list of lists), p_<typology> …``.
    """
    per_typology = (
        reasons.with_columns(
            pl.col("probability").clip(0.0, 1.0), pl.col("est_overpayment").fill_null(0.0).clip(0.0)
        )
        .group_by("person_id", "typology")
        .agg(
            pl.col("probability").max(),
            pl.col("est_overpayment").max(),
            pl.col("reason"),
            pl.col("facts"),
        )
        .with_columns(
            (pl.col("probability") * (pl.col("est_overpayment") + 1.0)).alias("_strength")
        )
        .sort(
            ["person_id", "_strength", "probability", "typology"],
            descending=[False, True, True, False],
        )
    )
    wide = per_typology.group_by("person_id").agg(
        pl.col("typology").first(),
        (1.0 - (1.0 - pl.col("probability")).product()).alias("rule_probability"),
        pl.col("est_overpayment").max(),
        pl.col("reason").list.explode(keep_nulls=False, empty_as_null=False).alias("reasons"),
        pl.col("facts").list.explode(keep_nulls=False, empty_as_null=False).alias("reason_facts"),
        *[
            pl.col("probability")
            .filter(pl.col("typology") == t)
            .max()
            .fill_null(0.0)
            .alias(f"p_{t}")
            for t in TYPOLOGIES
        ],
    )
    return wide
