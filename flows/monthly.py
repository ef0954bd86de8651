"""The monthly audit procedure, as the audit unit would describe it.

    read the month's drop → check every row (quarantine what cannot be trusted)
    → validate each dataset (stop on a critical failure) → keep the validated month in
    the curated history → score suspected improper payments → list the pensions to
    suspend for an expired certification cycle → emit the case list per township →
    record the run in its manifest

Tasks pass file paths and small summaries between them, never big frames: the checked
drop is kept as Parquet under ``OUT/.work/YYYY-MM/<fingerprint>/`` and checking an
unchanged drop again is answered from Prefect's cache, keyed on the input files' hashes,
while its raw copy is kept (``run.keep_raw_months``: by default it goes once the month is
committed).
Every output file is written into a staging folder that becomes ``OUT/YYYY-MM`` only when
the whole month succeeded.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.context import TaskRunContext
from prefect.exceptions import MissingContextError
from prefect.logging import get_logger

from features.cases import MODEL_FEATURES
from features.custody import custody_spans, link_custody
from features.history import register_people
from features.records import REASON
from features.suspension import SUSPENSION_ORDER, custody_actions, suspension_list
from sentinel.artifacts import month_summary_markdown, top_cases_table
from sentinel.audit_result import OutcomeLimits, SignOff
from sentinel.casestore import CaseStore, database_url
from sentinel.casestore.chain import check_history
from sentinel.casestore.recovery import import_recoveries
from sentinel.config import SentinelConfig, load_config
from sentinel.contract import ContractError
from sentinel.detection import (
    MonthDetection,
    MonthHistory,
    detect_month,
    last_paid,
    month_register_runs,
)
from sentinel.engines import partition_engine
from sentinel.ingest import INGEST_ORDER, StoredDrop, check_and_store_drop, drop_fingerprint
from sentinel.io.reports import (
    write_case_list,
    write_csv_bom,
    write_quarantine,
    write_suspect_replies,
)
from sentinel.io.runlock import LockHolder, run_lock
from sentinel.io.store import (
    HISTORY_FILE,
    CuratedStore,
    clear_stale_staging,
    discard_raw_copies,
    history_anchors,
    latest_month_output,
    load_history,
    processed_months,
    restrict_permissions,
    scan_month_outputs,
    staged_month,
    verified_history_heads,
    write_json,
)
from sentinel.listing import carried_cases, publish_listing
from sentinel.manifest import build_manifest, changed_inputs, code_version
from sentinel.outcomes import import_outcomes
from sentinel.risk import (
    RULES_VERSION,
    ModelChoice,
    audited_outcomes,
    choose_risk_model,
    outcome_labels,
    training_rows,
)
from sentinel.suspects import REPLIES_FILE, answer_suspects
from sentinel.validation import ValidationReport, validate_month

#: The model inputs of each month's detected cases (what the learned model reads, and
#: learns from once the case is audited): ``OUT/YYYY-MM/model_inputs.parquet``.
MODEL_INPUTS_FILE = "model_inputs.parquet"
MONTH_FOLDER = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
#: Every dataset of a drop is kept in the curated history, in ingest's order.
CURATED_DATASETS = INGEST_ORDER


@dataclass(frozen=True)
class MonthSummary:
    """What one month's run produced (small: safe to pass between tasks and print)."""

    month: str
    rows: dict[str, tuple[int, int, int]]  # dataset -> (in, loaded, quarantined)
    cases: int
    est_overpayment: float
    model_version: str
    outputs: dict[str, str] = field(default_factory=dict)


def run_logger() -> Any:
    """The run logger inside a flow run; the module logger when a task is called as ``.fn``."""
    try:
        return get_run_logger()
    except MissingContextError:
        return get_logger("sentinel.flows")


def _work_folder(out: Path, month: str, fingerprint: str) -> Path:
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
    folder = _work_folder(parameters["out"], parameters["month"], fingerprint)
    # The folder is part of the key: the cached result points at files in it.
    where = hashlib.sha256(str(folder.resolve()).encode("utf-8")).hexdigest()[:16]
    return f"check-drop-{parameters['month']}-{fingerprint}-{where}"


@task(
    retries=2,
    retry_delay_seconds=[2, 10],
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
    folder = _work_folder(out, month, fingerprint)
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
            raise ContractError(file, failure.column, failure.problem)
    return reports


def case_store_url(out: Path, config: SentinelConfig) -> str:
    """``$SENTINEL_DATABASE_URL`` when set, else the SQLite file under OUT."""
    return database_url(Path(out) / config.cases.database_file)


@task(retries=2, retry_delay_seconds=[2, 10])
def record_drop_outcomes(drops: dict[str, StoredDrop], out: Path, config: SentinelConfig) -> int:
    """Close the cases whose field-audit outcomes arrived in this drop (``outcomes.*``)."""
    outcomes = drops["outcomes"].loaded
    if outcomes.height == 0:
        return 0
    limits = OutcomeLimits.from_config(config)
    signoff = SignOff.from_config(config)
    with CaseStore(case_store_url(out, config), limits=limits, signoff=signoff) as store_db:
        report = import_outcomes(store_db, outcomes, actor="drop:outcomes")
    logger = run_logger()
    for error in report.errors:
        logger.warning("outcome not applied: %s", error)
    if report.pending:
        logger.warning(
            "%d outcome(s) without a second signature wait for sign-off (cases.signoff_*)",
            report.pending,
        )
    return report.applied


#: The recovery rows of a drop that could not be applied, and why (``OUT/YYYY-MM/``).
RECOVERIES_REJECTED_FILE = "recoveries_rejected.csv"


@task(retries=2, retry_delay_seconds=[2, 10])
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


@task(retries=2, retry_delay_seconds=[2, 10])
def curate_month(drops: dict[str, StoredDrop], store: Path, month: str) -> None:
    """Keep the validated month in the curated history (replacing an earlier ingest), and
    the register and the paid ledger up to it summarised per person (what detection reads
    of them)."""
    curated = CuratedStore(store)
    for name in CURATED_DATASETS:
        curated.write_month(name, month, drops[name].loaded)
    curated.write_month("quarantined_payouts", month, drops["payouts"].quarantined)
    curated.summarise_register(month)
    curated.summarise_ledger(month)


@task
def choose_model(store: Path, out: Path, month: str, config: SentinelConfig) -> ModelChoice:
    """The rules alone, or the rules corrected by the audit outcomes received so far."""
    return learned_model(load_history(store, month).outcomes, out, month, config)


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
    store: Path, month: str, config: SentinelConfig, model: ModelChoice
) -> MonthDetection:
    """Score suspected improper payments over the history up to ``month``; name the
    month's policy events."""
    history = load_history(store, month)
    with partition_engine():
        return detect_month(history, config, model=model.load())


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
    history = load_history(store, month)
    links = custody_links.lazy() if custody_links is not None else None
    return open_cases_carried(
        cases,
        out,
        month,
        config,
        lambda persons: last_paid(history, persons, config, links).collect(),
    )


def open_cases_carried(
    cases: pl.DataFrame,
    out: Path,
    month: str,
    config: SentinelConfig,
    paid_up_to: Callable[[pl.LazyFrame], pl.DataFrame],
) -> pl.DataFrame:
    """:func:`sentinel.listing.carried_cases` of the open cases not in ``cases``;
    ``paid_up_to(persons)`` gives their ``last_paid_index``, ``pension_terminated`` and last
    certification pass (:func:`sentinel.detection.last_paid`)."""
    with CaseStore(case_store_url(out, config)) as store_db:
        open_cases = store_db.open_cases(month, cases["case_id"].to_list())
    if open_cases.height == 0:
        return pl.DataFrame()
    with partition_engine():
        paid = paid_up_to(open_cases.lazy().select("person_id"))
    return carried_cases(
        open_cases,
        latest_month_output(out, "cases.parquet", before=month),
        paid,
        month,
        config.detection.forward_months,
        config.detection.report_language,
    )


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
        custody = curated.scan("custody", up_to=month).collect()
        if custody.is_empty():
            return lapsed
        links = (
            custody_links.lazy()
            if custody_links is not None
            else link_custody(custody.lazy(), people, config)
        )
        spans = custody_spans(custody.lazy(), links, month, config.policy)
        held = custody_actions(
            register, spans, month=month, suspends=config.policy.custody_suspends
        ).collect()
        return pl.concat([lapsed, held.cast(lapsed.schema)]).sort(*SUSPENSION_ORDER)


@task(retries=2, retry_delay_seconds=[2, 10])
def list_suspensions(
    store: Path,
    month: str,
    config: SentinelConfig,
    staging: Path,
    custody_links: pl.DataFrame | None = None,
) -> int:
    """Pensions to suspend (no certification pass for a full cycle) or restore this month
    (``custody_links``: detection's, not linked again)."""
    suspensions = month_suspensions(
        CuratedStore(store), load_history(store, month), month, config, custody_links
    )
    suspensions.write_parquet(staging / "suspensions.parquet")
    write_csv_bom(suspensions, staging / "suspensions.csv")
    return suspensions.height


@task(retries=2, retry_delay_seconds=[2, 10])
def emit_month(
    detected: MonthDetection,
    carried: pl.DataFrame,
    drops: dict[str, StoredDrop],
    reports: dict[str, ValidationReport],
    config: SentinelConfig,
    out: Path,
    month: str,
    staging: Path,
    model: ModelChoice,
) -> MonthSummary:
    """Record the month's list in the case store (carried cases included, visits chosen)
    and write the case list, the model inputs, the quarantine files and the manifest into
    the staging folder."""
    cases = detected.cases
    with CaseStore(case_store_url(out, config)) as store_db:
        published = publish_listing(
            store_db, cases, carried, month, config, recipients=detected.recipients
        )
        audited = store_db.cases()
        # After every run: the case events and the audit log still form their chains. The
        # rows the month before verified are not hashed again (``sentinel audit verify``
        # recomputes them all).
        history = check_history(
            store_db.engine,
            history_anchors(out, before=month),
            since=verified_history_heads(out, before=month),
        )
    if not history.holds:
        run_logger().error("history check failed: %s", history.broken)
    write_json(staging / HISTORY_FILE, history.as_json())
    # A re-raised, carried or still-paid case says why at the head of its evidence.
    published = published.with_columns(
        pl.when(pl.col("note").is_not_null())
        .then(pl.concat_str([pl.col("note"), pl.col("evidence")], separator="; "))
        .otherwise(pl.col("evidence"))
        .alias("evidence")
    )
    published, replies = answer_suspects(
        published, drops["beneficiaries"].scan_loaded(), audited, out, month, config
    )
    if replies is not None:
        replies.write_parquet(staging / REPLIES_FILE)
        write_suspect_replies(
            replies, staging, config.suspects.reply_columns, config.suspects.reply_results
        )
    paths = write_case_list(
        published, staging, language=config.detection.report_language, month=month
    )
    cases.select("person_id", *MODEL_FEATURES).write_parquet(staging / MODEL_INPUTS_FILE)
    write_quarantine(
        {name: drop.quarantined for name, drop in drops.items()}, staging / "quarantine"
    )
    final = Path(out) / month
    outputs = {
        "cases": str(final / paths["parquet"].name),
        "cases_csv": str(final / paths["csv"].name),
        "workbook": str(final / paths["xlsx"].name),
        "quarantine": str(final / "quarantine"),
        "suspensions": str(final / "suspensions.csv"),
        **({"suspect_replies": str(final / "suspect_replies.csv")} if replies is not None else {}),
        "data_docs": str(final / "data-docs" / "index.html"),
        "manifest": str(final / "manifest.json"),
        "history": str(final / HISTORY_FILE),
    }
    manifest = build_manifest(
        month,
        drops,
        reports,
        cases=published.height,
        model_version=model.version,
        policy_events=detected.events,
    )
    write_json(staging / "manifest.json", manifest)
    return MonthSummary(
        month=month,
        rows={
            name: (d["rows_in"], d["rows_loaded"], d["rows_quarantined"])
            for name, d in manifest["inputs"].items()
        },
        cases=published.height,
        est_overpayment=float(published["est_overpayment"].sum() or 0.0),
        model_version=model.version,
        outputs=outputs,
    )


@task
def publish_artifacts(
    summary: MonthSummary, reports: dict[str, ValidationReport], out: Path, config: SentinelConfig
) -> None:
    """Markdown summary and masked top-cases table for the Prefect UI."""
    cases = pl.read_parquet(Path(out) / summary.month / "cases.parquet")
    key = f"monthly-audit-{summary.month}".lower()
    create_markdown_artifact(
        month_summary_markdown(
            summary.month, summary.rows, reports, cases, summary.outputs, summary.model_version
        ),
        key=key,
        description=f"Monthly audit {summary.month}",
    )
    create_table_artifact(
        top_cases_table(cases, config.detection.audit_capacity),
        key=f"top-cases-{summary.month}".lower(),
        description=f"Top {config.detection.audit_capacity} cases {summary.month} (IDs masked)",
    )


@flow(name="monthly-audit", log_prints=False)
def monthly_audit(
    inbox: Path, out: Path, month: str, store: Path | None = None, config_file: Path | None = None
) -> MonthSummary:
    """Run the monthly procedure for one drop ``INBOX/YYYY-MM`` into ``OUT/YYYY-MM``."""
    config = load_config(config_file)
    store = Path(store) if store is not None else Path(out) / "curated"
    clear_stale_staging(Path(out))
    with staged_month(Path(out), month) as staging:
        drops = checked_drop(inbox, month, out, config)
        reports = validate_month_drop(drops, config, month, store, staging / "data-docs")
        curate_month(drops, store, month)
        record_drop_outcomes(drops, out, config)
        apply_drop_recoveries(drops, out, config, staging)
        model = choose_model(store, out, month, config)
        detected = score_month(store, month, config, model)
        carried = carry_open_cases(
            detected.cases, store, out, month, config, detected.custody_links
        )
        list_suspensions(store, month, config, staging, detected.custody_links)
        summary = emit_month(detected, carried, drops, reports, config, out, month, staging, model)
    forget_raw_copies(out, config)
    publish_artifacts(summary, reports, out, config)
    return summary


@task
def forget_raw_copies(out: Path, config: SentinelConfig) -> int:
    """Delete the raw drop copies of committed months (``run.keep_raw_months``)."""
    removed = discard_raw_copies(Path(out), config.run.keep_raw_months)
    if removed:
        run_logger().info("%d raw drop copies of committed months deleted", len(removed))
    return len(removed)


def inbox_months(inbox: Path) -> list[str]:
    """Drop months present in INBOX (folders named YYYY-MM), in order."""
    return sorted(
        p.name for p in Path(inbox).iterdir() if p.is_dir() and MONTH_FOLDER.match(p.name)
    )


def months_to_run(
    inbox: Path, out: Path, month: str, reprocess_from: str | None = None
) -> list[str]:
    """Earlier months in INBOX not yet processed under OUT, in order, then ``month`` itself;
    with ``reprocess_from``, every month of INBOX from that one on is run again as well."""
    for given in (month, reprocess_from):
        if given is not None and not MONTH_FOLDER.match(given):
            raise ValueError(f"month must be YYYY-MM, got {given!r}")
    if reprocess_from is not None and reprocess_from > month:
        raise ValueError(f"--reprocess-from {reprocess_from} is after --month {month}")
    done = set(processed_months(out))
    pending = [
        m
        for m in inbox_months(inbox)
        if m < month and (m not in done or (reprocess_from is not None and m >= reprocess_from))
    ]
    return [*pending, month]


def check_processed_inputs(
    inbox: Path, out: Path, month: str, reprocess_from: str | None = None
) -> None:
    """Refuse to build on a processed month whose input files changed since.

    Every processed month that this run does not derive again is compared with its
    manifest (:func:`sentinel.manifest.changed_inputs`); ``month`` itself is derived again
    when no later month was processed, and with ``reprocess_from`` every month from it on.
    Raises :class:`ContractError` naming the first changed file, its month and the command
    that re-runs from there.
    """
    processed = processed_months(out)
    if reprocess_from is not None:
        checked = [m for m in processed if m < reprocess_from]
    elif any(m > month for m in processed):
        checked = processed
    else:
        checked = [m for m in processed if m != month]
    changes = changed_inputs(inbox, out, checked)
    if changes:
        changed_month, first = changes[0]
        more = f"; {len(changes) - 1} more changed file(s)" if len(changes) > 1 else ""
        raise ContractError(
            first.file,
            None,
            f"{first.problem}{more}; outputs of {changed_month} and later were built on the "
            f"old file: run again with --reprocess-from {changed_month}",
        )


def guard_output(
    out: Path,
    config: SentinelConfig,
    *,
    on_wait: Callable[[LockHolder | None], None] | None = None,
    on_stale: Callable[[LockHolder], None] | None = None,
) -> AbstractContextManager[None]:
    """The output folder for one run: owner-only permissions (``run.umask``) and its run
    lock (``run.lock_wait_seconds``). Waiting for another run and taking over a dead run's
    lock are said through ``on_wait`` / ``on_stale``, by default as warnings in the log."""
    restrict_permissions(Path(out), config.run.umask_bits())
    logger = run_logger()

    def waiting(holder: LockHolder | None) -> None:
        who = holder.describe() if holder is not None else "another process"
        logger.warning("%s is in use by %s: waiting", out, who)

    def stale(holder: LockHolder) -> None:
        logger.warning("took over the lock of %s, which is no longer running", holder.describe())

    return run_lock(
        Path(out),
        wait_seconds=config.run.lock_wait_seconds,
        on_wait=on_wait or waiting,
        on_stale=on_stale or stale,
    )


@flow(name="catch-up")
def catch_up(
    inbox: Path, out: Path, month: str, store: Path | None = None, config_file: Path | None = None
) -> list[MonthSummary]:
    """Run every unprocessed month up to ``month`` in order (a missed month is never skipped)."""
    return [
        monthly_audit(inbox, out, m, store=store, config_file=config_file)
        for m in months_to_run(inbox, out, month)
    ]


SCHEDULE_TIMEZONE = "Asia/Shanghai"
"""The county's clock: the schedule fires and "last month" is reckoned in Beijing time."""


def previous_month(today: date) -> str:
    """The month before ``today`` as ``YYYY-MM`` (January looks back to December)."""
    return (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


@flow(name="scheduled-audit")
def scheduled_audit(
    inbox: Path,
    out: Path,
    store: Path | None = None,
    config_file: Path | None = None,
    month: str | None = None,
) -> list[MonthSummary]:
    """The unattended monthly run: catch up to ``month``, by default last month.

    A month's drop arrives in the first days of the next month, so the run on the 5th
    audits the month before "today" in Beijing time (not the server's clock, which may
    be UTC and still in the previous day). Any earlier month not yet processed runs first.
    """
    if month is None:
        month = previous_month(datetime.now(ZoneInfo(SCHEDULE_TIMEZONE)).date())
    with guard_output(out, load_config(config_file)):
        check_processed_inputs(inbox, out, month)
        return catch_up(inbox, out, month, store=store, config_file=config_file)
