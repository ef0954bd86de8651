"""The month's history as detection reads it: the typed datasets up to the month scored,
and the register and paid ledger summarised per person."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from features.history import register_runs, runs_up_to
from features.ledger import ledger_runs, ledger_runs_up_to
from features.payments import PAYOUT_KIND, ledger_keys, paid_ledger
from sentinel.periods import month_number


@dataclass(frozen=True)
class MonthHistory:
    """Everything known at the end of ``month`` (typed, see ``sentinel.contract``).

    Every frame carries ``month``: the drop (``YYYY-MM``) that delivered the row.
    ``quarantined_payouts`` holds payout rows that were not loaded, all columns as raw text
    plus ``_reason``; they were still paid unless the reason is ``duplicate row``.
    """

    month: str
    register: pl.LazyFrame
    payouts: pl.LazyFrame
    quarantined_payouts: pl.LazyFrame
    deaths: pl.LazyFrame
    certifications: pl.LazyFrame
    outcomes: pl.LazyFrame
    #: The register summarised per person (:func:`features.history.register_runs`) when the
    #: store keeps it; None to summarise ``register`` here. Detection reads only this.
    register_runs: pl.LazyFrame | None = None
    #: The paid ledger summarised per person (:func:`features.ledger.ledger_runs` of
    #: :func:`features.payments.paid_ledger`) when the store keeps it; None to summarise
    #: ``payouts`` and ``quarantined_payouts`` here. Detection reads only this.
    ledger_runs: pl.LazyFrame | None = None
    #: Custody records received (``sentinel.contract.CUSTODY``); None: none delivered.
    custody: pl.LazyFrame | None = None
    #: Upstream suspect lists received (``sentinel.contract.SUSPECTS``); None: none delivered.
    suspects: pl.LazyFrame | None = None


def delivered_up_to(frame: pl.LazyFrame, month: str) -> pl.LazyFrame:
    """The rows of ``frame`` delivered by the drops up to and including ``month``."""
    return frame.filter(pl.col("month") <= month)


def month_register_runs(history: MonthHistory) -> pl.LazyFrame:
    """The register runs up to ``history.month``: the stored summary when the history has
    one, else summarised from the snapshots (the same rows either way)."""
    if history.register_runs is not None:
        return runs_up_to(history.register_runs, history.month)
    # register_runs reads only the columns a run keeps (not the flags and region codes).
    return register_runs(delivered_up_to(history.register, history.month))


def month_ledger_runs(history: MonthHistory) -> pl.LazyFrame:
    """The paid ledger up to ``history.month`` as runs (:mod:`features.ledger`), with the
    columns of :func:`features.payments.ledger_keys`: the stored summary when the history
    has one, else summarised from the payouts (the same rows either way)."""
    month = history.month
    if history.ledger_runs is not None:
        runs = ledger_runs_up_to(history.ledger_runs, month)
    else:
        rows = paid_ledger(
            delivered_up_to(history.payouts, month),
            delivered_up_to(history.quarantined_payouts, month),
        )
        runs = ledger_runs(rows.filter(pl.col("drop_index") <= month_number(month)))
    return runs.with_columns(pl.col("kind").cast(PAYOUT_KIND)).with_columns(ledger_keys())
