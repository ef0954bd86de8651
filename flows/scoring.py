"""The month's cases: the risk model chosen from the audit outcomes so far, the county's
history scored (:func:`sentinel.detection.detect_month`), and the open cases detection did
not raise carried on the list until an audit closes them.

A partitioned run (:mod:`flows.partitioned`) chooses the model with the same task, scores
with the same steps split between its partitions, and carries open cases with the same
step over its partitions' histories.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from prefect import task

from flows.context import case_store_url, run_logger
from flows.publishing import MODEL_INPUTS_FILE
from sentinel.casestore import CaseStore
from sentinel.config import SentinelConfig
from sentinel.detection import MonthDetection, MonthHistory, detect_month, last_paid_over
from sentinel.engines import partition_engine
from sentinel.io.case_key import case_id_key
from sentinel.io.store import CuratedStore, latest_month_output, load_history, scan_month_outputs
from sentinel.listing import carried_cases
from sentinel.risk import (
    RULES_VERSION,
    ModelChoice,
    audited_outcomes,
    choose_risk_model,
    outcome_labels,
    training_rows,
)


@task
def choose_model(store: Path, out: Path, month: str, config: SentinelConfig) -> ModelChoice:
    """The rules alone, or the rules corrected by the audit outcomes received so far
    (``store``: the curated history that keeps the drops' outcomes; a partitioned run's
    global one)."""
    return learned_model(CuratedStore(store).scan("outcomes", up_to=month), out, month, config)


def learned_model(
    outcomes: pl.LazyFrame, out: Path, month: str, config: SentinelConfig
) -> ModelChoice:
    """:func:`sentinel.risk.choose_risk_model` on every outcome so far (the drops'
    ``outcomes`` and the case store's), each read with the evidence its case was listed
    with and weighted by how likely the case was to be visited."""
    inputs = scan_month_outputs(out, MODEL_INPUTS_FILE, before=month)
    if inputs is None:
        return ModelChoice(version=RULES_VERSION, directory=None)
    with CaseStore(case_store_url(out, config)) as store_db:
        from_store = audited_outcomes(store_db.cases())
        selections = store_db.selections(up_to=month)
    outcomes = pl.concat(
        [outcomes.filter(pl.col("month") <= month), from_store], how="diagonal_relaxed"
    )
    train = training_rows(
        outcome_labels(outcomes),
        inputs,
        selections.lazy().select("person_id", "month", "selection_probability"),
        config.model.max_outcome_weight,
    )
    return choose_risk_model(train, Path(out) / "models", month, config)


@task
def score_month(
    store: Path, out: Path, month: str, config: SentinelConfig, model: ModelChoice
) -> MonthDetection:
    """Score suspected improper payments over the history up to ``month``; name the
    month's policy events. The cases are named with OUT's key (:func:`case_key`)."""
    history = load_history(store, month)
    key = case_key(out)
    with partition_engine():
        return detect_month(history, config, model=model.load(), case_key=key)


def case_key(out: Path) -> bytes | None:
    """:func:`sentinel.io.case_key.case_id_key` of OUT, saying in the run's log when OUT
    keeps unkeyed case IDs. Read where the cases are named rather than passed between
    tasks: Prefect records what a task is given, and the key must stay in OUT."""
    key = case_id_key(out)
    if key is None:
        run_logger().warning(
            "%s was begun before case IDs were keyed: its case IDs stay unkeyed hashes of "
            "the identity number, so that its open cases keep their IDs",
            out,
        )
    return key


@task
def carry_open_cases(
    cases: pl.DataFrame,
    store: Path,
    out: Path,
    month: str,
    config: SentinelConfig,
    custody_links: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Open cases detection did not raise this month, with their last listing: a case stays
    on the list until an audit closes it (``custody_links``: detection's, for acquittals)."""
    links = custody_links.lazy() if custody_links is not None else None
    return open_cases_carried(cases, out, month, config, [load_history(store, month)], links)


def open_cases_carried(
    cases: pl.DataFrame,
    out: Path,
    month: str,
    config: SentinelConfig,
    histories: list[MonthHistory],
    custody_links: pl.LazyFrame | None = None,
) -> pl.DataFrame:
    """:func:`sentinel.listing.carried_cases` of the open cases not in ``cases``; their
    ``last_paid_index``, ``pension_terminated`` and last certification pass read from
    ``histories`` (:func:`sentinel.detection.last_paid_over`: a county's one history, or a
    province's partitions)."""
    with CaseStore(case_store_url(out, config)) as store_db:
        open_cases = store_db.open_cases(month, cases["case_id"].to_list())
    if open_cases.height == 0:
        return pl.DataFrame()
    with partition_engine():
        persons = open_cases.lazy().select("person_id")
        paid = last_paid_over(histories, persons, config, custody_links)
    return carried_cases(
        open_cases,
        latest_month_output(out, "cases.parquet", before=month),
        paid,
        month,
        config.detection.forward_months,
        config.detection.report_language,
    )
