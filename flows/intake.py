"""A month's drop taken in: read and checked row by row (quarantining what cannot be
trusted), validated dataset by dataset (a critical failure stops the month), kept in the
curated history, and its audit outcomes and recovery steps entered in the case store.

The checked drop is kept as Parquet under ``OUT/.work/YYYY-MM/<fingerprint>/`` and checking
an unchanged drop again is answered from Prefect's cache, keyed on the input files' hashes,
while its raw copy is kept (``run.keep_raw_months``: by default it goes once the month is
committed).
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext

from features.records import REASON
from flows.context import FILE_RETRY, case_store_url, run_logger
from sentinel.audit_result import OutcomeLimits, SignOff
from sentinel.casestore import CaseStore
from sentinel.casestore.recovery import import_recoveries
from sentinel.config import SentinelConfig
from sentinel.contract import ContractError
from sentinel.ingest import INGEST_ORDER, StoredDrop, check_and_store_drop, drop_fingerprint
from sentinel.io.curation import PreparedCuration, adopt_curated_month, prepare_curated_month
from sentinel.io.reports import write_csv_bom
from sentinel.io.store import CuratedStore
from sentinel.manifest import code_version
from sentinel.outcomes import import_outcomes
from sentinel.validation import ValidationReport, validate_month

#: Every dataset of a drop is kept in the curated history, in ingest's order.
CURATED_DATASETS = INGEST_ORDER


def work_folder(out: Path, month: str, fingerprint: str) -> Path:
    """``OUT/.work/YYYY-MM/<fingerprint>``: where a checked drop's files are kept."""
    return Path(out) / ".work" / month / fingerprint


def _drop_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str | None:
    """Cache key of checking a drop: the drop's file hashes, the code and the configuration.

    Prefect's default hashing of frames is unreliable, so the key is computed from the
    input files themselves. If the checked files a cached result points at were removed,
    the flow refreshes the cache (:func:`checked_drop`).
    """
    config: SentinelConfig = parameters["config"]
    extra = code_version() + config.model_dump_json()
    fingerprint = drop_fingerprint(Path(parameters["inbox"]) / parameters["month"], extra)
    if fingerprint is None:
        return None
    folder = work_folder(parameters["out"], parameters["month"], fingerprint)
    # The folder is part of the key: the cached result points at files in it.
    where = hashlib.sha256(str(folder.resolve()).encode("utf-8")).hexdigest()[:16]
    return f"check-drop-{parameters['month']}-{fingerprint}-{where}"


@task(
    **FILE_RETRY,
    cache_key_fn=_drop_cache_key,
    cache_expiration=timedelta(days=400),
)
def read_and_check_drop(
    inbox: Path, month: str, out: Path, config: SentinelConfig
) -> dict[str, StoredDrop]:
    """Read every dataset of INBOX/YYYY-MM and type every row; rows that cannot be trusted
    get a quarantine reason. The checked datasets are kept as Parquet under
    ``OUT/.work/YYYY-MM/<fingerprint>/``: later tasks receive their paths, and re-running an
    unchanged drop is answered from Prefect's cache (retried: network shares hiccup)."""
    month_dir = Path(inbox) / month
    fingerprint = drop_fingerprint(month_dir, code_version() + config.model_dump_json())
    if fingerprint is None:
        raise ContractError(str(month_dir), None, "drop folder not found")
    folder = work_folder(out, month, fingerprint)
    # Dataset by dataset: a province drop (20M register rows) is never all in memory.
    stored = check_and_store_drop(month_dir, config, month=month, folder=folder)
    for other in folder.parent.iterdir():
        if other != folder:
            shutil.rmtree(other, ignore_errors=True)  # an earlier delivery of the same month
    logger = run_logger()
    for name, drop in stored.items():
        rows, quarantined = (
            pl.scan_parquet(drop.checked_path)
            .select(pl.len(), pl.col(REASON).is_not_null().sum())
            .collect()
            .row(0)
        )
        logger.info(
            "%s: %d rows in, %d loaded, %d quarantined",
            name,
            drop.rows_in,
            rows - quarantined,
            quarantined,
        )
    return stored


def checked_drop(
    inbox: Path, month: str, out: Path, config: SentinelConfig
) -> dict[str, StoredDrop]:
    """:func:`read_and_check_drop`, answered from the cache when the drop is unchanged and
    its checked files are still there."""
    drops = read_and_check_drop(inbox, month, out, config)
    if all(d.raw_path.exists() and d.checked_path.exists() for d in drops.values()):
        return drops
    return read_and_check_drop.with_options(refresh_cache=True)(inbox, month, out, config)


@task
def validate_month_drop(
    drops: dict[str, StoredDrop],
    config: SentinelConfig,
    month: str,
    store: Path,
    docs_dir: Path,
) -> dict[str, ValidationReport]:
    """Great Expectations suites per dataset; a critical failure stops the month."""
    previous_rows = CuratedStore(store).previous_rows(config.ingest.row_count_datasets, month)
    return validate_against(drops, config, month, previous_rows, docs_dir)


def validate_against(
    drops: dict[str, StoredDrop],
    config: SentinelConfig,
    month: str,
    previous_rows: dict[str, int],
    docs_dir: Path,
) -> dict[str, ValidationReport]:
    """:func:`validate_month` of the checked drop; raises :class:`ContractError` on the first
    critical failure (``previous_rows``: rows per dataset in the latest earlier month).

    An optional dataset not delivered this month has no file to judge: it gets a report
    with nothing evaluated and no Data Docs page, unless a row floor applies to it (then its
    suite runs, and fails on the missing rows)."""
    undelivered = [
        name for name, drop in drops.items() if drop.file is None and not previous_rows.get(name)
    ]
    validated = validate_month(
        # Scanned when the dataset's turn comes: a large one is validated in chunks read
        # from its file, never held whole.
        {
            name: (lambda drop=drop: drop.scan_checked())
            for name, drop in drops.items()
            if name not in undelivered
        },
        config,
        month,
        previous_rows,
        docs_dir,
    )
    reports = {
        name: validated[name] if name in validated else ValidationReport.nothing_delivered(name)
        for name in drops
    }
    for name, report in reports.items():
        if report.critical_failures:
            failure = report.critical_failures[0]
            drop = drops[name]
            file = str(drop.file) if drop.file is not None else name
            raise ContractError(file, failure.named_column, failure.problem)
    return reports


#: The outcome rows of a drop the case store refused, and why (``OUT/YYYY-MM/``).
OUTCOMES_REJECTED_FILE = "outcomes_rejected.csv"


@task(**FILE_RETRY)
def record_drop_outcomes(
    drops: dict[str, StoredDrop], out: Path, config: SentinelConfig, staging: Path
) -> int:
    """Close the cases whose field-audit outcomes arrived in this drop (``outcomes.*``). A
    row the case store refuses (an unknown case, a wrong person, a result it cannot take)
    is named with its file, row, column and problem in the log and in
    ``outcomes_rejected.csv``, for the reply to the unit that sent it."""
    drop = drops["outcomes"]
    outcomes = drop.loaded
    if outcomes.height == 0:
        return 0
    file = drop.file.name if drop.file is not None else "outcomes"
    limits = OutcomeLimits.from_config(config)
    signoff = SignOff.from_config(config)
    with CaseStore(case_store_url(out, config), limits=limits, signoff=signoff) as store_db:
        report = import_outcomes(store_db, outcomes, actor="drop:outcomes")
    logger = run_logger()
    for error in report.errors:
        logger.warning("outcome not applied: %s, %s", file, error)
    if report.errors:
        write_csv_bom(
            report.errors_frame()
            .with_columns(pl.lit(file).alias("sheet"))
            .rename({"sheet": "file"}),
            staging / OUTCOMES_REJECTED_FILE,
        )
    if report.pending:
        logger.warning(
            "%d outcome(s) without a second signature wait for sign-off (cases.signoff_*)",
            report.pending,
        )
    return report.applied


#: The recovery rows of a drop that could not be applied, and why (``OUT/YYYY-MM/``).
RECOVERIES_REJECTED_FILE = "recoveries_rejected.csv"


@task(**FILE_RETRY)
def apply_drop_recoveries(
    drops: dict[str, StoredDrop], out: Path, config: SentinelConfig, staging: Path
) -> int:
    """Enter the recovery steps that arrived in this drop (``recoveries.*``: notices,
    payments, escalations, write-offs) in the case store's recovery ledger, after the
    month's outcomes opened the accounts. A row that cannot be applied is named with its
    file, row, column and problem in the log and in ``recoveries_rejected.csv``."""
    drop = drops["recoveries"]
    rows = drop.loaded
    if rows.height == 0:
        return 0
    file = drop.file.name if drop.file is not None else "recoveries"
    # A filled-in recovery sheet comes as a workbook; an export from finance as a table.
    source = "workbook" if file.lower().endswith(".xlsx") else "drop"
    with CaseStore(case_store_url(out, config)) as store_db:
        report = import_recoveries(
            store_db,
            rows,
            actor="drop:recoveries",
            source=source,
            notice_deadline_days=config.recovery.notice_deadline_days,
            file=file,
        )
    logger = run_logger()
    for error in report.errors:
        logger.warning("recovery step not applied: %s", error)
    if report.errors:
        write_csv_bom(report.errors_frame(), staging / RECOVERIES_REJECTED_FILE)
    logger.info(
        "recoveries: %d rows, %d applied, %d already recorded, %d rejected",
        report.rows,
        report.applied,
        report.unchanged,
        report.rejected,
    )
    return report.applied


@task(**FILE_RETRY, cache_policy=NO_CACHE)  # its folder is used up when adopted
def prepare_curation(drops: dict[str, StoredDrop], store: Path, month: str) -> PreparedCuration:
    """The month's curated partitions, and the register and the paid ledger up to it
    summarised per person (what detection reads of them), prepared beside the curated
    history while the suites judge the drop (:mod:`sentinel.io.curation`)."""
    frames = {name: (lambda drop=drops[name]: drop.loaded) for name in CURATED_DATASETS}
    frames["quarantined_payouts"] = lambda: drops["payouts"].quarantined
    return prepare_curated_month(store, month, frames)


@task(**FILE_RETRY)
def curate_month(prepared: PreparedCuration) -> None:
    """Keep the validated month in the curated history: the prepared partitions and
    summaries replace an earlier ingest of the month."""
    adopt_curated_month(prepared)
