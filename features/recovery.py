"""The recovery ledger: what confirmed cases overpaid, what came back, what is still owed.

A case an audit confirmed (``confirmed_deceased`` / ``confirmed_improper``) with a sum
overpaid opens a recovery *account*: the amount due is the overpayment the audit
established; what the auditor recovered at closing counts as a payment received on the
closing day. Then the ladder (docs/domain.md; 人社部发〔2024〕74号): a written notice with a
deadline, payments (in full, by instalments, offset against benefits still payable, or
returned by the bank from a deceased person's account), escalations (an administrative
order, the court, the police) and write-offs, which count only once a second user has
approved them.

Pure functions over LazyFrames (the case store reads and writes the rows:
:mod:`sentinel.casestore.recovery`). Amounts are yuan, rounded to the fen.

**Ageing** counts the days from the case's ``closed_on`` — the day the audit established
the debt — to ``as_of``, not from the notice: an account nobody sent a notice for must age
like any other, or the accounts the ladder forgot would look the freshest. Buckets follow
issue 22: ``0-30``, ``31-90``, ``91-180``, ``>180`` days, for open accounts only.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import polars as pl

from sentinel.contract import ESCALATION_METHODS

__all__ = [
    "AGEING_BUCKETS",
    "LADDER_STEPS",
    "LEDGER_COLUMNS",
    "LEDGER_TOTALS",
    "RECOVERY_EVENT_SCHEMA",
    "SUMMARY_COLUMNS",
    "ageing_bucket",
    "recovery_accounts",
    "summarise_recoveries",
]

#: Ageing buckets of an open account, by days since the case was closed (upper bounds
#: inclusive: 30 days is ``0-30``, 31 is ``31-90``).
AGEING_BUCKETS: tuple[str, ...] = ("0-30", "31-90", "91-180", ">180")
_BUCKET_BOUNDS: tuple[int, ...] = (30, 90, 180)
#: How far up the ladder an account has come: no notice yet, notified, or the latest
#: escalation's channel.
LADDER_STEPS: tuple[str, ...] = ("none", "notified", *dict.fromkeys(ESCALATION_METHODS.values()))
#: Account status: money still owed, everything recovered, or the rest written off.
ACCOUNT_STATUSES: tuple[str, ...] = ("open", "repaid", "written_off")
#: Below a fen an account is settled (floating sums of instalments).
_SETTLED = 0.005

#: The recovery events as :func:`recovery_accounts` reads them: one row per event; a
#: write-off's ``approved_on`` is the day a second user approved it (null: proposed only).
RECOVERY_EVENT_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "record_id": pl.String(),
    "step": pl.String(),
    "on": pl.Date(),
    "amount": pl.Float64(),
    "method": pl.String(),
    "deadline": pl.Date(),
    "reason": pl.String(),
    "source": pl.String(),
    "actor": pl.String(),
    "approved_on": pl.Date(),
    "approved_by": pl.String(),
}

#: What an account keeps of its case.
_CASE_FIELDS: tuple[str, ...] = (
    "case_id",
    "person_id",
    "township",
    "typology",
    "outcome",
    "closed_on",
)
#: Columns of :func:`recovery_accounts`, one row per account.
LEDGER_COLUMNS: tuple[str, ...] = (
    *_CASE_FIELDS,
    "due",
    "recovered",
    "written_off",
    "outstanding",
    "last_step",
    "last_step_on",
    "notice_on",
    "ladder_step",
    "next_deadline",
    "overdue",
    "days_outstanding",
    "ageing_bucket",
    "status",
)

#: The money of a group of accounts: how many, the yuan due, recovered, written off and
#: outstanding, and the share recovered.
LEDGER_TOTALS: tuple[str, ...] = (
    "accounts",
    "due",
    "recovered",
    "written_off",
    "outstanding",
    "recovery_rate",
)
#: Columns of :func:`summarise_recoveries` after the grouping column.
SUMMARY_COLUMNS: tuple[str, ...] = (
    *LEDGER_TOTALS,
    *(f"aged_{b}" for b in AGEING_BUCKETS),
    *(f"step_{s}" for s in LADDER_STEPS),
    *(f"status_{s}" for s in ACCOUNT_STATUSES),
)

_CONFIRMED = ("confirmed_deceased", "confirmed_improper")


def ageing_bucket(days: pl.Expr) -> pl.Expr:
    """The ageing bucket (:data:`AGEING_BUCKETS`) of ``days`` outstanding; null stays null."""
    low, mid, high = _BUCKET_BOUNDS
    return (
        pl.when(days.is_null())
        .then(None)
        .when(days <= low)
        .then(pl.lit(AGEING_BUCKETS[0]))
        .when(days <= mid)
        .then(pl.lit(AGEING_BUCKETS[1]))
        .when(days <= high)
        .then(pl.lit(AGEING_BUCKETS[2]))
        .otherwise(pl.lit(AGEING_BUCKETS[3]))
    )


def recovery_accounts(cases: pl.LazyFrame, events: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """One row per recovery account on ``as_of`` (:data:`LEDGER_COLUMNS`), by ``case_id``.

    ``cases``: the case store's cases (``case_id, person_id, township, typology, outcome,
    closed_on, overpaid_amount, recovered_amount``); an account is a case confirmed on or
    before ``as_of`` with ``overpaid_amount`` > 0. ``events``: :data:`RECOVERY_EVENT_SCHEMA`
    rows; those dated after ``as_of`` are ignored, as are write-offs not approved by then.

    ``due`` is the overpayment; ``recovered`` what was recovered at closing plus the
    payments; ``written_off`` the approved write-offs; ``outstanding`` = due − recovered −
    written off (never below 0). ``last_step`` is the latest event's step (``closed`` when
    none); ``ladder_step`` how far the ladder went (:data:`LADDER_STEPS`); ``next_deadline``
    the deadline of the latest notice or escalation that set one, for an open account, and
    ``overdue`` whether it has passed. ``days_outstanding`` and ``ageing_bucket`` (open
    accounts only) count from ``closed_on``. ``status``: ``open``, ``repaid`` (nothing
    written off) or ``written_off`` (the rest written off).
    """
    accounts = _confirmed_accounts(cases, as_of)
    sums = _event_sums(events, accounts, as_of)
    due = pl.col("due")
    recovered = (pl.col("_at_closing") + pl.col("_paid").fill_null(0.0)).clip(upper_bound=due)
    with_sums = accounts.join(sums, on="case_id", how="left").with_columns(
        recovered.round(2).alias("recovered"),
        pl.col("written_off").fill_null(0.0).round(2),
    )
    return _account_state(with_sums, as_of).select(LEDGER_COLUMNS).sort("case_id")


def _confirmed_accounts(cases: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """The cases that are recovery accounts on ``as_of``: ``due`` (the overpayment, to the
    fen) and ``_at_closing`` (recovered when the case was closed)."""
    return cases.filter(
        pl.col("outcome").is_in(_CONFIRMED)
        & pl.col("closed_on").is_not_null()
        & (pl.col("closed_on") <= as_of)
        & (pl.col("overpaid_amount").fill_null(0.0) > 0)
    ).select(
        *_CASE_FIELDS,
        pl.col("overpaid_amount").round(2).alias("due"),
        pl.col("recovered_amount").fill_null(0.0).alias("_at_closing"),
    )


def _event_sums(events: pl.LazyFrame, accounts: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Per account, its events up to ``as_of``: ``_paid``, ``written_off`` (approved by
    then), ``notice_on``, the latest escalation's method (``_escalated``), the latest
    deadline set (``_deadline``) and the latest step (``_last``: ``on``, ``order``,
    ``step``)."""
    # In date order: the group's rows keep it, so ``last`` is the latest.
    live = (
        events.filter(pl.col("on") <= as_of)
        .join(accounts.select("case_id"), on="case_id", how="semi")
        .sort("case_id", "on", "record_id")
    )
    written = pl.col("approved_on").is_not_null() & (pl.col("approved_on") <= as_of)
    step = pl.col("step")
    return live.group_by("case_id").agg(
        pl.col("amount").filter(step == "payment").sum().alias("_paid"),
        pl.col("amount").filter((step == "write_off") & written).sum().alias("written_off"),
        pl.col("on").filter(step == "notice").min().alias("notice_on"),
        pl.col("method").filter(step == "escalation").last().alias("_escalated"),
        pl.col("deadline")
        .filter(step.is_in(["notice", "escalation"]) & pl.col("deadline").is_not_null())
        .last()
        .alias("_deadline"),
        # The latest step, a write-off at its approval; same-day steps in the ladder's order.
        pl.struct(
            pl.when(step == "write_off")
            .then(pl.col("approved_on"))
            .otherwise(pl.col("on"))
            .alias("on"),
            step.replace_strict(
                {"notice": 0, "escalation": 1, "payment": 2, "write_off": 3},
                default=4,
                return_dtype=pl.Int8,
            ).alias("order"),
            step.alias("step"),
        )
        .filter((step != "write_off") | written)
        .sort()
        .last()
        .alias("_last"),
    )


def _account_state(with_sums: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """The accounts with their sums (``due``, ``recovered``, ``written_off``) and where
    they stand on ``as_of``: ``outstanding``, ``last_step``, ``ladder_step``,
    ``next_deadline``, ``overdue``, ``days_outstanding``, ``ageing_bucket``, ``status``."""
    outstanding = (pl.col("due") - pl.col("recovered") - pl.col("written_off")).clip(
        lower_bound=0.0
    )
    is_open = pl.col("outstanding") > _SETTLED
    days = (pl.lit(as_of) - pl.col("closed_on")).dt.total_days()
    return (
        with_sums.with_columns(outstanding.round(2).alias("outstanding"))
        .with_columns(
            pl.col("_last").struct.field("step").fill_null("closed").alias("last_step"),
            pl.coalesce(pl.col("_last").struct.field("on"), pl.col("closed_on")).alias(
                "last_step_on"
            ),
            pl.when(pl.col("_escalated").is_not_null())
            .then(pl.col("_escalated"))
            .when(pl.col("notice_on").is_not_null())
            .then(pl.lit("notified"))
            .otherwise(pl.lit("none"))
            .alias("ladder_step"),
            pl.when(is_open).then(pl.col("_deadline")).alias("next_deadline"),
            pl.when(is_open).then(days).alias("days_outstanding"),
            pl.when(is_open)
            .then(pl.lit("open"))
            .when(pl.col("written_off") > _SETTLED)
            .then(pl.lit("written_off"))
            .otherwise(pl.lit("repaid"))
            .alias("status"),
        )
        .with_columns(
            (pl.col("next_deadline") < as_of).fill_null(False).alias("overdue"),
            ageing_bucket(pl.col("days_outstanding")).alias("ageing_bucket"),
        )
    )


def summarise_recoveries(
    ledger: pl.LazyFrame, by: Literal["township", "typology"] = "township"
) -> pl.LazyFrame:
    """Per ``by`` (township or typology) and a last row ``all``: the accounts, yuan due,
    recovered, written off and outstanding, ``recovery_rate`` (recovered / due; null when
    nothing is due), open accounts per ageing bucket (``aged_0-30`` ...), accounts per
    ladder step (``step_none`` ... ``step_police``) and per status (``status_open`` ...;
    :data:`SUMMARY_COLUMNS`).
    A missing township or typology is grouped as ``unknown``."""
    if by not in ("township", "typology"):
        raise ValueError(f"by must be 'township' or 'typology', got {by!r}")
    counts = [
        *(
            (pl.col("ageing_bucket") == b).sum().cast(pl.Int64).alias(f"aged_{b}")
            for b in AGEING_BUCKETS
        ),
        *(
            (pl.col("ladder_step") == s).sum().cast(pl.Int64).alias(f"step_{s}")
            for s in LADDER_STEPS
        ),
        *(
            (pl.col("status") == s).sum().cast(pl.Int64).alias(f"status_{s}")
            for s in ACCOUNT_STATUSES
        ),
    ]
    money = [pl.col(c).sum().round(2) for c in ("due", "recovered", "written_off", "outstanding")]
    keyed = ledger.with_columns(pl.col(by).fill_null("unknown"))
    groups = keyed.group_by(by).agg(pl.len().cast(pl.Int64).alias("accounts"), *money, *counts)
    total = keyed.select(
        pl.lit("all").alias(by), pl.len().cast(pl.Int64).alias("accounts"), *money, *counts
    )
    rate = (
        pl.when(pl.col("due") > 0)
        .then((pl.col("recovered") / pl.col("due")).round(4))
        .otherwise(None)
        .alias("recovery_rate")
    )
    return pl.concat([groups.sort(by), total]).with_columns(rate).select(by, *SUMMARY_COLUMNS)
