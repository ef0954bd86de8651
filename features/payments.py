"""The payout ledger the rules read: every payment made, its keys, and per-person sums.

All functions take and return LazyFrames; nothing here reads files. The ledger is
:func:`paid_ledger`: loaded payouts plus quarantined payout rows that are still money paid
(a row quarantined for a malformed ID or an unparseable date was paid all the same), less
exact duplicates of a loaded row (the same ledger line delivered twice, paid once). The
rules read it summarised per person (:mod:`features.ledger`: runs of unchanged regular
payments, every other row a run of one month) with the :func:`ledger_keys` columns; a rule
that must read payments row by row expands only the payees it needs
(:func:`features.ledger.rows_of`), so a run counts exactly as its months' rows.

The rule families read off it live beside it: :mod:`features.duplicate_receipt`,
:mod:`features.amount_anomaly` and :mod:`features.identity_anomaly`.
"""

from __future__ import annotations

import polars as pl

from features import identity
from features.cases import per_person
from features.ledger import overlapping, period_end, rows_of
from features.parsing import parse_amount_lenient, parse_period_lenient
from sentinel.contract import PAYOUT_KINDS, SCHEMES
from sentinel.periods import month_index


def id_is_well_formed(person_id: pl.Expr) -> pl.Expr:
    """18 characters: 17 digits and a digit or ``X``; False (not null) for an empty ID."""
    return identity.id_is_well_formed(person_id).fill_null(False)


def id_checksum_ok(person_id: pl.Expr) -> pl.Expr:
    """The MOD 11-2 check character is right; False for a malformed or empty ID."""
    return identity.id_checksum_ok(person_id).fill_null(False)


id_birth_date = identity.id_birth_date


def _schemes() -> dict[str, str]:
    return dict(SCHEMES)


def _payout_kinds() -> dict[str, str]:
    return dict(PAYOUT_KINDS)


def _canonical_scheme(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().replace_strict(_schemes(), default=None)


def _canonical_kind(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().replace_strict(_payout_kinds(), default=None)


def paid_ledger(payouts: pl.LazyFrame, quarantined: pl.LazyFrame) -> pl.LazyFrame:
    """Every payment made: loaded payouts and quarantined rows that were still paid.

    Quarantined rows are read tolerantly (ID upper-cased and stripped, amount and period
    parsed from text); rows quarantined as ``duplicate row`` are dropped because they are a
    second delivery of a loaded ledger line, not a second payment. ``drop_index`` is the
    month index of the drop that carried the row; ``period_index`` the month index of the
    period paid.
    """
    loaded = payouts.select(
        pl.col("person_id"),
        pl.col("scheme"),
        pl.col("period"),
        month_index(pl.col("period")).alias("period_index"),
        month_index(pl.col("month")).alias("drop_index"),
        pl.col("pay_date"),
        pl.col("amount"),
        pl.col("bank_account"),
        pl.col("kind"),
        pl.lit(False).alias("quarantined"),
        pl.lit(None, dtype=pl.String).alias("quarantine_reason"),
    )
    qcols = quarantined.collect_schema().names()

    def text(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.String) if name in qcols else pl.lit(None, dtype=pl.String)

    period = parse_period_lenient(text("period"))
    still_paid = quarantined.filter(
        ~pl.col("_reason").fill_null("").str.contains("duplicate row", literal=True)
    ).select(
        text("person_id").str.strip_chars().str.to_uppercase().alias("person_id"),
        _canonical_scheme(text("scheme")).alias("scheme"),
        period.alias("period"),
        month_index(period).alias("period_index"),
        month_index(pl.col("month")).alias("drop_index"),
        text("pay_date").str.to_date(strict=False).alias("pay_date"),
        parse_amount_lenient(text("amount")).alias("amount"),
        text("bank_account").str.strip_chars().alias("bank_account"),
        _canonical_kind(text("kind")).fill_null("regular").alias("kind"),
        pl.lit(True).alias("quarantined"),
        pl.col("_reason").cast(pl.String).alias("quarantine_reason"),
    )
    # A quarantined line without an amount (cut short) shows no payment was made: it stays
    # in quarantine, evidence of a damaged file, not of money paid.
    still_paid = still_paid.filter(pl.col("amount").is_not_null())
    return (
        pl.concat([loaded, still_paid], how="vertical_relaxed")
        .filter(pl.col("person_id").is_not_null() & (pl.col("person_id") != ""))
        .with_columns(pl.col("kind").cast(PAYOUT_KIND))
    )


#: The ledger's ``kind`` (canonical payout kinds): an enum, so the rules' many
#: ``kind == "regular"`` filters compare small integers, not text.
PAYOUT_KIND = pl.Enum(sorted(set(_payout_kinds().values())))
_SCHEME_CODE = pl.Enum(sorted(set(_schemes().values())))


def ledger_keys() -> list[pl.Expr]:
    """The derived columns of the ledger runs (:mod:`features.ledger`) the rules read,
    computed once for all of them (``kind`` must be :data:`PAYOUT_KIND` already).

    * ``period_end``: the period index of the run's last row;
    * ``well_formed``: the payee ID is an 18-character resident ID (:func:`id_is_well_formed`);
    * ``payee``: the ID's dictionary code (UInt32; codes hold within one process), to key
      a twelve-month ledger by payee and something else on integers instead of text;
    * ``payee_scheme``: one integer per (payee, scheme), nulls included.
    """
    payee = pl.col("person_id").cast(pl.Categorical).to_physical().cast(pl.UInt32)
    scheme = pl.col("scheme").cast(_SCHEME_CODE, strict=False).to_physical().cast(pl.UInt64)
    return [
        period_end().alias("period_end"),
        id_is_well_formed(pl.col("person_id")).alias("well_formed"),
        payee.alias("payee"),
        (payee.cast(pl.UInt64) * 4 + scheme.fill_null(3)).alias("payee_scheme"),
    ]


def monthly_amount(ledger: pl.LazyFrame, month: str) -> pl.LazyFrame:
    """Each person's latest regular monthly amount (all schemes) and count of months paid.

    ``monthly_amount`` is the sum over schemes of the latest regular amount;
    ``last_paid_index`` the latest period index paid; ``months_paid`` distinct periods paid.
    """
    del month
    regular = ledger.filter((pl.col("kind") == "regular") & pl.col("amount").is_not_null())
    # The latest row by (period, amount, account): largest period, then largest amount, then
    # largest account. Keeping each group's latest-period rows first (a window on one integer
    # key) and aggregating those is far cheaper than sorting the whole ledger.
    # (On the runs: the rows of a payee-scheme's latest period are the last rows of the runs
    # that end in it.)
    period = pl.col("period_end").fill_null(-1)
    at_latest = regular.filter(period == period.max().over("payee_scheme"))
    # The account of the largest amount (its largest, when two): one filter, then plain
    # aggregations (an expression evaluated in every group is far slower).
    latest = (
        at_latest.filter(pl.col("amount") == pl.col("amount").max().over("payee_scheme"))
        .group_by("payee_scheme")
        .agg(
            pl.col("person_id").first(),
            pl.col("scheme").first(),
            pl.col("amount").first(),
            pl.col("period_end").max().alias("last_paid_index"),
            pl.col("bank_account").max().alias("pay_account"),
        )
    )
    return (
        latest.drop("payee_scheme")
        .sort("scheme")
        .group_by("person_id")
        .agg(
            pl.col("amount").sum().alias("monthly_amount"),
            pl.col("last_paid_index").max(),
            pl.col("pay_account").first(),
        )
    )


def months_paid(ledger: pl.LazyFrame) -> pl.LazyFrame:
    """Each payee's number of distinct periods paid, any kind (``months_paid``, UInt32; an
    unknown period counts as one): the runs' months where the payee's runs do not share a
    period, the distinct periods of the rows where they do."""
    shared = overlapping(ledger)
    known = pl.col("period_index").is_not_null()
    apart = per_person(
        ledger.join(shared, on="payee", how="anti"),
        (pl.col("months").filter(known).sum() + (~known).any().cast(pl.Int64))
        .cast(pl.UInt32)
        .alias("months_paid"),
    )
    together = per_person(
        rows_of(ledger, shared, on="payee"),
        pl.col("period_index").n_unique().cast(pl.UInt32).alias("months_paid"),
    )
    return pl.concat([apart, together])


__all__ = [
    "PAYOUT_KIND",
    "id_birth_date",
    "id_checksum_ok",
    "id_is_well_formed",
    "ledger_keys",
    "monthly_amount",
    "months_paid",
    "paid_ledger",
]
