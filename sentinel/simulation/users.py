"""The simulated users of the audit unit and the centre: who audits a case and who reviews
the closure are never the same person (经办 / 复核); who proposes a write-off and who
approves it neither."""

from __future__ import annotations

import polars as pl

AUDITORS: tuple[str, ...] = ("sim-auditor-wang", "sim-auditor-li", "sim-auditor-zhao")
REVIEWERS: tuple[str, ...] = ("sim-reviewer-chen", "sim-reviewer-sun")
WRITE_OFF_PROPOSER = "sim-finance-zhang"
WRITE_OFF_APPROVER = "sim-director-liu"


def pick_user(users: tuple[str, ...]) -> pl.Expr:
    """One of ``users`` by the case id (stable across runs)."""
    index = pl.col("case_id").str.slice(-2).str.to_integer(base=16, strict=False).fill_null(0)
    index = index % len(users)
    return index.replace_strict(dict(enumerate(users)), return_dtype=pl.String)
