"""The month's suspension list: pensions to suspend (no certification pass for a full
cycle, or a custody that suspends them) and to restore.

Each curated store lists its own part (:func:`suspend`): a county's one store, or each
partition of a province (a person's register rows and certifications are all in their
owner's partition); :func:`list_suspensions` writes the parts as one list.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from prefect import task

from features.custody import custody_spans, link_custody
from features.history import register_people
from features.suspension import SUSPENSION_ORDER, custody_actions, suspension_list
from flows.context import FILE_RETRY
from sentinel.config import SentinelConfig
from sentinel.detection import MonthHistory, month_register_runs
from sentinel.engines import partition_engine
from sentinel.io.reports import write_csv_bom
from sentinel.io.store import CuratedStore, load_history


def month_suspensions(
    curated: CuratedStore,
    history: MonthHistory,
    month: str,
    config: SentinelConfig,
    custody_links: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """:func:`features.suspension.suspension_list` of ``month`` over one curated store: a
    county's, or one partition's (a person's register rows and certifications are all in
    their owner's partition). ``custody_links``: the custody records detection linked to the
    same register (:attr:`sentinel.detection.MonthDetection.custody_links`), else they are
    linked here."""
    with partition_engine():
        register = curated.scan("beneficiaries", months=[month])
        people = register_people(month_register_runs(history))
        lapsed = suspension_list(
            register,
            curated.scan("certifications", up_to=month),
            people,
            month=month,
            suspend_after_months=config.policy.suspend_after_months,
        ).collect()
        # The history's custody records: a partition's come from the province's global store,
        # where the records of every partition's persons are kept.
        if history.custody is None:
            return lapsed
        custody = history.custody.collect()
        if custody.is_empty():
            return lapsed
        links = (
            custody_links.lazy()
            if custody_links is not None
            else link_custody(
                custody.lazy(), people, min_confidence=config.detection.min_death_link_confidence
            )
        )
        spans = custody_spans(custody.lazy(), links, month, config.policy)
        held = custody_actions(
            register, spans, month=month, suspends=config.policy.custody_suspends
        ).collect()
        return pl.concat([lapsed, held.cast(lapsed.schema)]).sort(*SUSPENSION_ORDER)


@task
def suspend(
    store: Path,
    month: str,
    config: SentinelConfig,
    custody_links: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Pensions to suspend or restore this month by one curated history ``store``: a
    county's, or a partition's (``custody_links``: detection's, not linked again)."""
    return month_suspensions(
        CuratedStore(store), load_history(store, month), month, config, custody_links
    )


@task(**FILE_RETRY)
def list_suspensions(parts: list[pl.DataFrame], staging: Path) -> int:
    """The month's suspension list from every store's part (:func:`suspend`), in
    :data:`features.suspension.SUSPENSION_ORDER`, into the staging folder."""
    suspensions = pl.concat(parts, how="vertical_relaxed").sort(*SUSPENSION_ORDER)
    suspensions.write_parquet(staging / "suspensions.parquet")
    write_csv_bom(suspensions, staging / "suspensions.csv")
    return suspensions.height
