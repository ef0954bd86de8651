"""Upstream suspects in the simulated year: were they answered by their due date, and how
well did the list rank each batch's true suspects?

Each month the unit checks every suspect on the list whose batch is due before the next
month's run could carry its answer (:mod:`sentinel.simulation.audits`); :func:`suspect_ranking`
then reads every month's reply file and case list.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

#: Columns of :func:`suspect_ranking`, one row per batch and one for all batches.
SUSPECT_COLUMNS: tuple[str, ...] = (
    "batch_id",
    "suspects",
    "true_suspects",
    "answered",
    "answered_by_due_date",
    "top_half_precision",
    "base_rate",
    "auc",
)


def suspect_ranking(out: Path, truth_dir: Path) -> pl.DataFrame:
    """How the upstream suspects of a simulated year were answered and ranked
    (:data:`SUSPECT_COLUMNS`; the last row, ``all``, pools the batches).

    ``answered``: suspects whose reply, in some month's ``suspect_replies.csv``, is no longer
    ``verifying``; ``answered_by_due_date``: those whose first such reply was checked on or
    before the batch's due date. Ranking: the suspects on the register, ordered by their
    priority on the list of the month their batch arrived; ``top_half_precision`` is the
    share of true suspects in the better half, against ``base_rate``, the share of true
    suspects among them all; ``auc`` the probability that a true suspect is ranked above a
    false one.
    """
    truth = pl.read_parquet(Path(truth_dir) / "suspects.parquet")
    months = sorted(p.parent.name for p in Path(out).glob("*/suspect_replies.csv"))
    replies = _replies(Path(out), months)
    first_answer = (
        replies.filter(pl.col("result") != "verifying")
        .sort("reply_month")
        .unique(["batch_id", "person_id"], keep="first")
        .select("batch_id", "person_id", pl.col("checked_on").str.to_date().alias("checked_on"))
    )
    pushed = replies.group_by("batch_id").agg(pl.col("reply_month").min().alias("listed_in"))
    rows = (
        truth.join(first_answer, on=["batch_id", "person_id"], how="left")
        .join(pushed, on="batch_id", how="left")
        .join(_listed(Path(out), months), on=["person_id", "listed_in"], how="left")
    )
    counts = {
        str(b): _suspect_counts(rows.filter(pl.col("batch_id") == b))
        for b in rows["batch_id"].unique().sort()
    }
    counts["all"] = {k: sum(c[k] for c in counts.values()) for k in _COUNT_KEYS}
    return _ranking_table(counts)


def _replies(out: Path, months: list[str]) -> pl.DataFrame:
    """Every month's ``suspect_replies.csv`` as text, with the month it was written in."""
    if not months:
        columns = ("batch_id", "person_id", "result", "checked_on", "reply_month")
        return pl.DataFrame(schema=dict.fromkeys(columns, pl.String))
    return pl.concat(
        [
            pl.read_csv(out / m / "suspect_replies.csv", infer_schema_length=0).with_columns(
                pl.lit(m).alias("reply_month")
            )
            for m in months
        ]
    )


def _listed(out: Path, months: list[str]) -> pl.DataFrame:
    """Each month's priority ranks of the listed persons, in the months whose list carries
    upstream suspects."""
    ranks = []
    for m in months:
        cases = pl.read_parquet(out / m / "cases.parquet")
        if "suspect_batch" in cases.columns:
            ranks.append(cases.select("person_id", "priority_rank", pl.lit(m).alias("listed_in")))
    if not ranks:
        return pl.DataFrame(
            schema={"person_id": pl.String, "priority_rank": pl.Int64, "listed_in": pl.String}
        )
    return pl.concat(ranks)


def _ranking_table(counts: dict[str, dict[str, int]]) -> pl.DataFrame:
    """:data:`SUSPECT_COLUMNS` from each batch's counts (and the pooled ``all``)."""
    table = [
        {
            "batch_id": batch,
            "suspects": c["suspects"],
            "true_suspects": c["true_suspects"],
            "answered": c["answered"],
            "answered_by_due_date": c["on_time"],
            "top_half_precision": round(c["half_true"] / c["half"], 3) if c["half"] else None,
            "base_rate": round(c["ranked_true"] / c["ranked"], 3) if c["ranked"] else None,
            "auc": round(c["above"] / c["pairs"], 3) if c["pairs"] else None,
        }
        for batch, c in counts.items()
    ]
    return pl.DataFrame(
        table,
        schema={
            c: pl.String
            if c == "batch_id"
            else pl.Float64
            if c in ("top_half_precision", "base_rate", "auc")
            else pl.Int64
            for c in SUSPECT_COLUMNS
        },
    )


_COUNT_KEYS = (
    "suspects",
    "true_suspects",
    "answered",
    "on_time",
    "half",
    "half_true",
    "ranked",
    "ranked_true",
    "above",
    "pairs",
)


def _suspect_counts(rows: pl.DataFrame) -> dict[str, int]:
    """One batch's counts for :func:`suspect_ranking` (pooled over batches by summing)."""
    answered = rows.filter(pl.col("checked_on").is_not_null())
    ranked = rows.filter(pl.col("on_register") & pl.col("priority_rank").is_not_null()).sort(
        "priority_rank"
    )
    truth = ranked["is_improper"].to_list()
    half = truth[: len(truth) // 2]
    positives = sum(truth)
    # AUC from ranks: each (true, false) pair with the true suspect above counts 1 (a
    # month's list has no ties).
    above = false_seen = 0
    for is_true in reversed(truth):
        if is_true:
            above += false_seen
        else:
            false_seen += 1
    return {
        "suspects": rows.height,
        "true_suspects": int(rows["is_improper"].sum()),
        "answered": answered.height,
        "on_time": answered.filter(pl.col("checked_on") <= pl.col("due_on")).height,
        "half": len(half),
        "half_true": sum(half),
        "ranked": len(truth),
        "ranked_true": positives,
        "above": above,
        "pairs": positives * (len(truth) - positives),
    }
