"""Which listed cases the audit unit visits this month: the top of the list, and a few
drawn at random from below the cut.

Outcomes exist only for visited cases, and the visited cases are the ones the model already
believed in: learning from them alone can never find out that a case type below the cut is
better than thought (selective labels, Lakkaraju et al., KDD 2017). A small share of the
capacity therefore goes to cases drawn uniformly from below the cut, each with a known
selection probability; the model's training weights and the per-reason precision reports use
its inverse, so the unit gets an unbiased estimate of how often each reason is right (the
IRS's optimise-and-estimate audit selection and the UK DWP's random sample do the same,
docs/domain.md).
"""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl

from features.audit_order import settled_without_visit

__all__ = ["audit_selection", "takes_no_visit"]


def takes_no_visit(columns: list[str]) -> pl.Expr:
    """Listed cases that are the centre's to act on, not a field visit: reopened cases
    (confirmed by an audit, still paid: the payroll office stops them) and the cases
    :func:`features.audit_order.settled_without_visit` names."""
    reopened = (
        (pl.col("status") == "reopened").fill_null(False) if "status" in columns else pl.lit(False)
    )
    return reopened | settled_without_visit(columns)


def audit_selection(
    ranked: pl.DataFrame, capacity: int, exploration_share: float, month: str
) -> pl.DataFrame:
    """``ranked`` (by ``priority_rank``) with ``audit_selection`` (``priority`` /
    ``exploration`` / null) and ``selection_probability``.

    Reopened cases (``status`` ``reopened``) were audited already: they are the payroll
    office's to stop, not a visit, and take no capacity; nor do cases whose pension the
    register terminated since (:func:`takes_no_visit`). Of the other cases, the first
    ``capacity - round(capacity * exploration_share)`` are ``priority`` (probability 1);
    ``round(capacity * exploration_share)`` more are drawn uniformly from the rest
    (probability = drawn / rest). The draw is seeded by ``month``: re-running a month
    selects the same cases.
    """
    if capacity < 0 or not 0.0 <= exploration_share <= 1.0:
        raise ValueError("capacity must be >= 0 and exploration_share in [0, 1]")
    ranked = ranked.sort("priority_rank")
    visitable = ranked.with_row_index("_row").filter(~takes_no_visit(ranked.columns))
    n_explore = int(round(capacity * exploration_share))
    n_priority = max(0, min(capacity - n_explore, visitable.height))
    priority_rows = visitable["_row"].head(n_priority).to_list()
    rest = visitable["_row"].slice(n_priority).to_list()
    drawn: list[int] = []
    probability = 0.0
    if rest and n_explore:
        seed = int.from_bytes(hashlib.sha256(f"exploration|{month}".encode()).digest()[:8], "big")
        rng = np.random.default_rng(seed)
        k = min(n_explore, len(rest))
        drawn = sorted(rng.choice(rest, size=k, replace=False).tolist())
        probability = k / len(rest)
    selection = [None] * ranked.height
    chance = [None] * ranked.height
    for row in priority_rows:
        selection[row], chance[row] = "priority", 1.0
    for row in drawn:
        selection[row], chance[row] = "exploration", probability
    return ranked.with_columns(
        pl.Series("audit_selection", selection, dtype=pl.String),
        pl.Series("selection_probability", chance, dtype=pl.Float64),
    )
