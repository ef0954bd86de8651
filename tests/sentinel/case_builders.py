"""What the case-store tests share: a month's list of deceased-paid cases, the closing of
cases by the township auditor with a reviewer's sign-off, and recovery steps."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import polars as pl

from sentinel.casestore import AuditOutcome, CaseStore
from sentinel.casestore.recovery import RecoveryEntry, record_recovery


def deceased_paid_listing(
    *persons: str, townships: Sequence[str] = ("城关镇",), tier: int | None = None
) -> pl.DataFrame:
    """A month's list of cases ``DP-<person>``, ranked in the order given; the townships
    repeat over the persons; ``tier`` adds the tier column (Int8) with that value."""
    n = len(persons)
    frame = pl.DataFrame(
        {
            "case_id": [f"DP-{p}" for p in persons],
            "person_id": list(persons),
            "typology": ["deceased_paid"] * n,
            "township": [townships[i % len(townships)] for i in range(n)],
            "priority_rank": list(range(1, n + 1)),
            "risk_score": [0.9] * n,
            "est_overpayment": [1000.0] * n,
            "reasons": ["DP_PAID_AFTER_DEATH"] * n,
            "last_paid_period": ["2020-03"] * n,
        },
        schema_overrides={"priority_rank": pl.Int64},
    )
    if tier is not None:
        frame = frame.with_columns(pl.lit(tier, dtype=pl.Int8).alias("tier"))
    return frame


def close_reviewed(
    store: CaseStore,
    closings: Iterable[tuple[str, str, date, dict[str, Any]]],
    *,
    now: datetime,
) -> None:
    """Close each ``(case_id, outcome, closed_on, details)`` as auditor wang, signed off by
    reviewer-li; ``details`` are the closing's amounts and dates."""
    for case_id, outcome, closed_on, details in closings:
        store.close(
            case_id,
            AuditOutcome(outcome, closed_on, **details),
            actor="wang",
            reviewed_by="reviewer-li",
            now=now,
        )


def record_step(
    store: CaseStore, case_id: str, step: str, on: date, *, now: datetime, **details: Any
) -> bool:
    """One recovery step on ``on`` recorded by the recovery officer li; ``details`` are the
    rest of the :class:`RecoveryEntry` (amount, method, deadline, reason, record_id)."""
    return record_recovery(store, case_id, RecoveryEntry(step, on, **details), actor="li", now=now)
