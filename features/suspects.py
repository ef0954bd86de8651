"""Upstream suspect lists: who is still to be answered, their reason rows, and the reply.

The ministry's and the province's audit systems (and audit offices) push suspects down in
batches, each with a due date (``sentinel.contract.SUSPECTS``). A suspect is a lead, not
proof (docs/domain.md: about 0.6% of suspects are confirmed problems), so it enters detection as
a reason row of its own typology, ``upstream_suspect``, weighed by
``detection.upstream_suspect_probability`` and ranked with the product's own evidence about
the person. What it adds is a duty: the case stays listed until an audit answers it
(:data:`sentinel.reasons.ANSWER_DUE`), and the reply file holds one row per suspect.

A suspect is answered by an audit outcome of the person (``outcomes``):

1. the latest outcome closed on or after the day the batch was pushed;
2. else an earlier outcome that confirmed an improper payment (it is already known);
3. else a clearing within ``clear_months`` before the push (the person was seen alive in
   person that recently; the case store does not list them again before that,
   :mod:`sentinel.casestore.policy`).

A suspect whose ID is not on the register is answered at once: ``cleared``, not a pensioner
of this centre, checked on the run's month end.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from features.cases import reason_rows
from sentinel.config import REPLY_COLUMNS

__all__ = [
    "SUSPECT_TYPOLOGIES",
    "death_suspects",
    "open_suspects",
    "suspect_answers",
    "suspect_marks",
    "suspect_reasons",
    "suspect_replies",
]

#: The typologies of the product's own evidence that speak to each kind of suspect: a
#: suspect of that kind whose person shows one is corroborated
#: (:func:`features.scoring.corroborate_suspects`).
SUSPECT_TYPOLOGIES: dict[str, tuple[str, ...]] = {
    "death": ("deceased_paid", "suspected_unreported_death"),
    "custody": ("custody_paid",),
    "duplicate": ("duplicate_receipt",),
    "account": ("shared_account",),
    "other": ("amount_anomaly", "identity_anomaly"),
}

#: Outcomes that confirmed an improper payment.
_CONFIRMED = ("confirmed_deceased", "confirmed_improper")
_SUSPECT_KEY = ("batch_id", "person_id")


def suspect_answers(
    suspects: pl.LazyFrame, outcomes: pl.LazyFrame, clear_months: int
) -> pl.LazyFrame:
    """One row per suspect (``batch_id, person_id``; a repeat within a batch is answered
    once) with its answer, null while unanswered: ``result, checked_on, case_id,
    overpaid_amount, recovered_amount``. ``suspects`` carries ``month``, the drop that
    delivered it; ``outcomes``: ``person_id, case_id, closed_on, outcome, overpaid_amount,
    recovered_amount`` (the drops' outcomes, or the case store's closed cases)."""
    unique = suspects.sort("month", "pushed_on").unique(
        list(_SUSPECT_KEY), keep="first", maintain_order=True
    )
    # Cast: an empty case store hands over untyped columns.
    audits = outcomes.select(
        pl.col("person_id").cast(pl.String),
        pl.col("case_id").cast(pl.String),
        pl.col("closed_on").cast(pl.Date),
        pl.col("outcome").cast(pl.String),
        pl.col("overpaid_amount").cast(pl.Float64),
        pl.col("recovered_amount").cast(pl.Float64),
    )
    after_push = pl.col("closed_on") >= pl.col("pushed_on")
    confirmed = pl.col("outcome").is_in(_CONFIRMED)
    recent_clear = (pl.col("outcome") == "cleared") & (
        pl.col("closed_on") >= pl.col("pushed_on").dt.offset_by(f"-{clear_months}mo")
    )
    rank = (
        pl.when(after_push)
        .then(0)
        .when(confirmed)
        .then(1)
        .when(recent_clear)
        .then(2)
        .otherwise(None)
    )
    answers = (
        unique.select(*_SUSPECT_KEY, "pushed_on")
        .join(audits, on="person_id", how="inner")
        .with_columns(rank.alias("_rank"))
        .filter(pl.col("_rank").is_not_null())
        .sort("_rank", "closed_on", "case_id", descending=[False, True, False])
        .unique(list(_SUSPECT_KEY), keep="first")
        .select(
            *_SUSPECT_KEY,
            pl.col("outcome").alias("result"),
            pl.col("closed_on").alias("checked_on"),
            "case_id",
            "overpaid_amount",
            "recovered_amount",
        )
    )
    return unique.join(answers, on=list(_SUSPECT_KEY), how="left", maintain_order="left")


def open_suspects(answers: pl.LazyFrame, people: pl.LazyFrame) -> pl.LazyFrame:
    """The suspects of :func:`suspect_answers` still to be answered whose person is on the
    register (``people``: ``person_id``); the others are answered without a visit."""
    return answers.filter(pl.col("result").is_null()).join(
        people.select("person_id").unique(), on="person_id", how="semi"
    )


def death_suspects(open_: pl.LazyFrame | None) -> pl.LazyFrame | None:
    """``person_id`` of the open suspects an upstream list suspects dead (None without a
    list): the survival rule scores them whatever their probability, for the list's lift to
    weigh (:func:`features.scoring.corroborate_suspects`)."""
    if open_ is None:
        return None
    return open_.filter(pl.col("suspect_type") == "death").select("person_id").unique()


def suspect_reasons(open_: pl.LazyFrame, probability: float) -> pl.LazyFrame:
    """Reason rows (``features.cases.REASON_SCHEMA``) of the open suspects: one per suspect,
    ``US_SUSPECT_<TYPE>``, weighed ``probability`` (the prior of a suspect alone), no
    overpayment of its own (the product's evidence says how much is at stake)."""
    kinds = ("death", "custody", "duplicate", "account", "other")
    codes = tuple(f"US_SUSPECT_{k.upper()}" for k in kinds)
    code = pl.concat_str(pl.lit("US_SUSPECT_"), pl.col("suspect_type").str.to_uppercase())
    return reason_rows(
        open_.sort(*_SUSPECT_KEY),
        (code, codes),
        probability,
        pl.lit(0.0),
        pl.col("source"),
        pl.col("batch_id"),
        pl.col("due_on").cast(pl.String),
        pl.col("detail").fill_null("-"),
    )


def suspect_marks(open_: pl.LazyFrame) -> pl.LazyFrame:
    """``person_id, suspect_batch, suspect_due``: for each person with an open suspect, the
    batch due first (the case list's marks)."""
    return (
        open_.sort("due_on", "batch_id")
        .group_by("person_id", maintain_order=True)
        .agg(
            pl.col("batch_id").first().alias("suspect_batch"),
            pl.col("due_on").first().alias("suspect_due"),
        )
    )


def suspect_replies(
    answers: pl.LazyFrame,
    people: pl.LazyFrame,
    cases: pl.LazyFrame,
    month: str,
    month_end: date,
    still_open: list[str],
    language: str = "zh",
) -> pl.LazyFrame:
    """The month's reply rows (:data:`sentinel.config.REPLY_COLUMNS`, plus ``due_on``), one
    per suspect of every batch pushed this month or still open at the last reply
    (``still_open``: its batch ids), so that each answer is sent once it is known.

    ``result`` is ``verifying`` while no audit answered; ``evidence`` the person's evidence
    on this month's case list (``cases``: ``person_id, evidence``), else what answered it.
    """
    on_register = people.select("person_id").unique().with_columns(pl.lit(True).alias("_known"))
    evidence = cases.select("person_id", "evidence").unique("person_id", keep="first")
    zh = language == "zh"
    not_ours = (
        "不是本中心参保人（名册中无此身份证号）"
        if zh
        else "not a pensioner of this centre (no such ID on the register)"
    )
    answered = pl.format(
        "核查结果{}（{}）" if zh else "audit result {} ({})",
        pl.col("result"),
        pl.col("checked_on").cast(pl.String),
    )
    known = pl.col("_known").fill_null(False)
    rows = (
        answers.join(on_register, on="person_id", how="left")
        .join(evidence, on="person_id", how="left")
        .with_columns(
            pl.when(pl.col("result").is_null() & ~known)
            .then(pl.lit("cleared"))
            .otherwise(pl.col("result").fill_null("verifying"))
            .alias("result"),
            pl.when(pl.col("result").is_null() & ~known)
            .then(pl.lit(month_end))
            .otherwise(pl.col("checked_on"))
            .alias("checked_on"),
            pl.when(~known)
            .then(pl.lit(not_ours))
            .when(pl.col("evidence").is_not_null())
            .then(pl.col("evidence"))
            .otherwise(answered)
            .alias("evidence"),
        )
    )
    pushed_now = (pl.col("month") == month).any().over("batch_id")
    return (
        rows.filter(pushed_now | pl.col("batch_id").is_in(still_open))
        .sort("batch_id", "person_id")
        .select(*REPLY_COLUMNS, "due_on")
    )
