"""The month's list published: recorded in the case store (carried cases included, visits
chosen), written as the case list per township with the model inputs, the quarantine files
and the manifest into the staging folder; then shown in the Prefect UI.

Every output file is written into a staging folder that becomes ``OUT/YYYY-MM`` only when
the whole month succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from features.cases import MODEL_FEATURES
from flows.context import FILE_RETRY, case_store_url, run_logger
from sentinel.artifacts import month_summary_markdown, top_cases_table
from sentinel.casestore import CaseStore
from sentinel.casestore.chain import check_history
from sentinel.config import SentinelConfig
from sentinel.detection import MonthDetection
from sentinel.ingest import StoredDrop
from sentinel.io.reports import write_case_list, write_quarantine, write_suspect_replies
from sentinel.io.store import (
    HISTORY_FILE,
    history_anchors,
    verified_history_heads,
    write_json,
)
from sentinel.io.work import discard_raw_copies
from sentinel.listing import publish_listing
from sentinel.manifest import build_manifest
from sentinel.risk import ModelChoice
from sentinel.suspects import REPLIES_FILE, answer_suspects
from sentinel.validation import ValidationReport

#: The model inputs of each month's detected cases (what the learned model reads, and
#: learns from once the case is audited): ``OUT/YYYY-MM/model_inputs.parquet``.
MODEL_INPUTS_FILE = "model_inputs.parquet"


@dataclass(frozen=True)
class MonthSummary:
    """What one month's run produced (small: safe to pass between tasks and print)."""

    month: str
    rows: dict[str, tuple[int, int, int]]  # dataset -> (in, loaded, quarantined)
    cases: int
    est_overpayment: float
    model_version: str
    outputs: dict[str, str] = field(default_factory=dict)


@task(**FILE_RETRY)
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
    published, audited = record_listing(detected, carried, config, out, month, staging)
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
    detected.cases.select("person_id", *MODEL_FEATURES).write_parquet(staging / MODEL_INPUTS_FILE)
    write_quarantine(
        {name: drop.quarantined for name, drop in drops.items()}, staging / "quarantine"
    )
    manifest = build_manifest(
        month,
        drops,
        reports,
        cases=published.height,
        model_version=model.version,
        policy_events=detected.events,
        upstream_corroboration=detected.corroboration,
        case_ids=detected.case_ids,
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
        outputs=month_outputs(Path(out) / month, paths, suspect_replies=replies is not None),
    )


def record_listing(
    detected: MonthDetection,
    carried: pl.DataFrame,
    config: SentinelConfig,
    out: Path,
    month: str,
    staging: Path,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The month's list as the case store recorded it (:func:`sentinel.listing.publish_listing`),
    each case's note at the head of its evidence, and every case the store holds; the
    history chains checked after it (``history.json`` in the staging folder)."""
    with CaseStore(case_store_url(out, config)) as store_db:
        published = publish_listing(
            store_db, detected.cases, carried, month, config, recipients=detected.recipients
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
    return published, audited


def month_outputs(final: Path, paths: dict[str, Path], *, suspect_replies: bool) -> dict[str, str]:
    """The month's output files as they are named once committed to ``final``
    (``OUT/YYYY-MM``); ``paths``: the case list's files (:func:`write_case_list`)."""
    return {
        "cases": str(final / paths["parquet"].name),
        "cases_csv": str(final / paths["csv"].name),
        "workbook": str(final / paths["xlsx"].name),
        "quarantine": str(final / "quarantine"),
        "suspensions": str(final / "suspensions.csv"),
        **({"suspect_replies": str(final / "suspect_replies.csv")} if suspect_replies else {}),
        "data_docs": str(final / "data-docs" / "index.html"),
        "manifest": str(final / "manifest.json"),
        "history": str(final / HISTORY_FILE),
    }


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


@task
def forget_raw_copies(out: Path, config: SentinelConfig) -> int:
    """Delete the raw drop copies of committed months (``run.keep_raw_months``)."""
    removed = discard_raw_copies(Path(out), config.run.keep_raw_months)
    if removed:
        run_logger().info("%d raw drop copies of committed months deleted", len(removed))
    return len(removed)
