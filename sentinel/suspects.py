"""Upstream suspect lists at the month's end and between runs.

:func:`answer_suspects`: the monthly run marks each published case whose person an open
suspect names and builds the month's reply (:mod:`features.suspects`).
:func:`suspect_status`: where the lists stand now (``sentinel report suspects``), read from
the curated suspects and the case store as it is now, so an outcome recorded in the review
app after the last monthly run already counts; a suspect the last run answered without a
visit (not a pensioner of this centre) keeps that answer.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from features.suspects import open_suspects, suspect_answers, suspect_marks, suspect_replies
from sentinel.casestore.constants import OPEN_STATES
from sentinel.config import SentinelConfig
from sentinel.contract import SUSPECTS, typed_schema
from sentinel.io.store import CuratedStore, latest_month_output, processed_months
from sentinel.masking import mask_id_expr
from sentinel.periods import month_end

__all__ = ["REPLIES_FILE", "answer_suspects", "suspect_status"]

#: The month's answers to upstream suspects in the contract's names, with each batch's due
#: date (``suspect_replies.csv`` and ``.xlsx`` are the same rows in the upstream's template).
REPLIES_FILE = "suspect_replies.parquet"


def answer_suspects(
    published: pl.DataFrame,
    register: pl.LazyFrame,
    audited: pl.DataFrame,
    out: Path,
    month: str,
    config: SentinelConfig,
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The published list with each case's open upstream suspect marked (``suspect_batch``,
    ``suspect_due``), and the month's reply rows (:func:`features.suspects.suspect_replies`;
    None when no suspect list was ever delivered). ``audited``: the case store's cases
    (closed ones answer suspects, whether closed by a drop's outcomes or in the review app)."""
    curated = CuratedStore(Path(out) / "curated")
    pushed = curated.scan("suspects", up_to=month, schema=typed_schema(SUSPECTS)).collect()
    if pushed.is_empty():
        return published.with_columns(
            pl.lit(None, dtype=pl.String).alias("suspect_batch"),
            pl.lit(None, dtype=pl.Date).alias("suspect_due"),
        ), None
    closed = audited.filter(
        pl.col("outcome").is_not_null() & (pl.col("closed_on") <= month_end(month))
    ).lazy()
    answers = suspect_answers(pushed.lazy(), closed, config.cases.clear_months).collect()
    people = register.select("person_id")
    last = latest_month_output(out, REPLIES_FILE, before=month)
    still_open = (
        []
        if last is None
        else last.filter(pl.col("result") == "verifying")["batch_id"].unique().to_list()
    )
    marks = suspect_marks(open_suspects(answers.lazy(), people)).collect()
    marked = published.join(marks, on="person_id", how="left", maintain_order="left")
    replies = suspect_replies(
        answers.lazy(),
        people,
        marked.lazy(),
        month,
        month_end(month),
        still_open,
        config.detection.report_language,
    ).collect()
    return marked, replies


def suspect_status(
    out: Path, cases: pl.DataFrame, as_of: date, clear_months: int, *, overdue: bool = False
) -> pl.DataFrame:
    """Per batch: ``batch_id, source, pushed_on, due_on, days_left, suspects, answered,
    verifying, overdue``; with ``overdue``, instead, one row per suspect still to be answered
    after its due date: ``batch_id, due_on, days_late, person_id`` (masked),
    ``suspect_type, case_id``.

    ``cases``: the case store's cases (:meth:`sentinel.casestore.CaseStore.cases`).
    """
    months = processed_months(Path(out))
    schema = typed_schema(SUSPECTS)
    if not months:
        pushed = pl.DataFrame(schema={**schema, "month": pl.String})
    else:
        pushed = CuratedStore(Path(out) / "curated").scan("suspects", up_to=months[-1], schema=schema).collect()
    closed = cases.filter(pl.col("outcome").is_not_null()).lazy()
    answers = suspect_answers(pushed.lazy(), closed, clear_months).collect()
    last = latest_month_output(Path(out), REPLIES_FILE, before="9999-99")
    if last is not None:
        # The run's own answers without a visit (an ID not on the register) stand.
        desk = last.filter(pl.col("result") != "verifying").select(
            "batch_id", "person_id", pl.col("result").alias("_desk")
        )
        answers = answers.join(desk, on=["batch_id", "person_id"], how="left").with_columns(
            pl.col("result").fill_null(pl.col("_desk"))
        ).drop("_desk")
    waiting = pl.col("result").is_null()
    days_left = (pl.col("due_on") - pl.lit(as_of)).dt.total_days()
    if overdue:
        open_cases = cases.filter(pl.col("state").is_in(OPEN_STATES)).select(
            "person_id", "case_id"
        ).unique("person_id", keep="first")
        return (
            answers.filter(waiting & (days_left < 0))
            .drop("case_id")
            .join(open_cases, on="person_id", how="left")
            .sort("due_on", "batch_id", "person_id")
            .select(
                "batch_id",
                "due_on",
                (-days_left).alias("days_late"),
                mask_id_expr("person_id"),
                "suspect_type",
                "case_id",
            )
        )
    return (
        answers.group_by("batch_id")
        .agg(
            pl.col("source").first(),
            pl.col("pushed_on").min(),
            pl.col("due_on").min(),
            pl.len().alias("suspects"),
            (~waiting).sum().alias("answered"),
            waiting.sum().alias("verifying"),
        )
        .with_columns(
            days_left.alias("days_left"),
            pl.when(pl.col("verifying") > 0).then(days_left < 0).otherwise(False).alias("overdue"),
        )
        .sort("due_on", "batch_id")
        .select(
            "batch_id", "source", "pushed_on", "due_on", "days_left", "suspects", "answered", "verifying", "overdue"
        )
    )
