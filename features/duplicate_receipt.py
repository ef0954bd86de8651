"""The duplicate-receipt rule family: one person paid more than one regular pension for a
period (:func:`duplicate_receipt`), read off the paid ledger (:mod:`features.payments`).
"""

from __future__ import annotations

import polars as pl

from features.cases import fmt_yuan, reason_rows
from features.ledger import overlapping, rows_of
from sentinel.periods import period_of_index


def duplicate_receipt(ledger: pl.LazyFrame, probability: float) -> pl.LazyFrame:
    """One person paid more than one regular pension for the same period, with
    ``probability`` (``detection.duplicate_receipt_probability``).

    Two schemes paying the same person for one period (an old-age pension may be drawn from
    one scheme only), or a scheme paying its regular pension twice for one period (a second
    ledger line, possibly in a later drop). The overpayment is every regular payment for the
    period except the largest one. Arrears are not regular payments and are handled by the
    amount rules. Rows with an ID that is not well formed are left to the identity rules.
    """
    # A line without an amount (cut short, quarantined) proves no second payment.
    regular_runs = ledger.filter(
        (pl.col("kind") == "regular")
        & pl.col("period_index").is_not_null()
        & pl.col("well_formed")
        & (pl.col("amount") > 0)
    )
    # A period paid twice lies in two runs of the payee: only payees whose runs overlap.
    regular = rows_of(regular_runs, overlapping(regular_runs), on="payee")
    # Most person-periods are paid once: find the repeated ones first with a cheap count,
    # then describe only those.
    person_period = pl.col("payee").cast(pl.Int64) * 2**32 + pl.col("period_index")
    per_period = (
        regular.filter(person_period.is_duplicated())
        .group_by("person_id", "period_index")
        .agg(
            pl.len().alias("n"),
            pl.col("scheme").n_unique().alias("n_schemes"),
            pl.col("scheme").unique().sort().str.join("+").alias("schemes"),
            (pl.col("amount").fill_null(0.0).sum() - pl.col("amount").fill_null(0.0).max()).alias(
                "extra"
            ),
        )
        .filter(pl.col("n") > 1)
    )
    per_person = per_period.group_by("person_id").agg(
        pl.col("extra").sum(),
        pl.len().alias("periods"),
        (pl.col("n_schemes") > 1).sum().alias("cross_periods"),
        pl.col("schemes").filter(pl.col("n_schemes") > 1).first().alias("schemes"),
        period_of_index(pl.col("period_index").min()).alias("first_period"),
    )
    p = probability
    two_schemes = reason_rows(
        per_person.filter(pl.col("cross_periods") > 0),
        "DR_TWO_SCHEMES",
        p,
        pl.col("extra"),
        pl.col("schemes"),
        pl.col("cross_periods"),
        pl.col("first_period"),
        fmt_yuan(pl.col("extra")),
    )
    repeat = reason_rows(
        per_person.filter(pl.col("cross_periods") < pl.col("periods")),
        "DR_REPEAT_PERIOD",
        p,
        pl.col("extra"),
        pl.col("periods") - pl.col("cross_periods"),
        pl.col("first_period"),
        fmt_yuan(pl.col("extra")),
    )
    return pl.concat([two_schemes, repeat])
