"""The monthly audit procedure, as the audit unit would describe it.

    read the month's drop → check every row (quarantine what cannot be trusted)
    → validate each dataset (stop on a critical failure), while the month's curated
    partitions are prepared beside the history → keep the validated month in the
    curated history → score suspected improper payments → list the pensions to
    suspend for an expired certification cycle → emit the case list per township →
    record the run in its manifest

The steps are tasks of :mod:`flows.intake` (the drop taken in), :mod:`flows.scoring` (the
model chosen, the cases scored and carried), :mod:`flows.suspensions` and
:mod:`flows.publishing` (the list emitted). A province runs the same steps in partitions
(:mod:`flows.partitioned`). Tasks pass file paths, the month's lists and small summaries
between them, never the history. Every output file is written into a staging folder that
becomes ``OUT/YYYY-MM`` only when the whole month succeeded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow

from flows.context import run_logger
from flows.intake import (
    apply_drop_recoveries,
    checked_drop,
    curate_month,
    prepare_curation,
    record_drop_outcomes,
    validate_month_drop,
)
from flows.publishing import MonthSummary, emit_month, forget_raw_copies, publish_artifacts
from flows.scoring import carry_open_cases, choose_model, score_month
from flows.suspensions import list_suspensions, suspend
from sentinel.config import SentinelConfig, load_config
from sentinel.contract import ContractError
from sentinel.io.curation import clear_unadopted
from sentinel.io.runlock import LockHolder, run_lock
from sentinel.io.store import (
    clear_stale_staging,
    months_missing_from_store,
    processed_months,
    record_history_store,
    recorded_history_store,
    restrict_permissions,
    staged_month,
)
from sentinel.io.work import work_cleared_on_failure
from sentinel.manifest import changed_inputs
from sentinel.partition import partitions_root

MONTH_FOLDER = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@flow(name="monthly-audit", log_prints=False)
def monthly_audit(
    inbox: Path, out: Path, month: str, store: Path | None = None, config_file: Path | None = None
) -> MonthSummary:
    """Run the monthly procedure for one drop ``INBOX/YYYY-MM`` into ``OUT/YYYY-MM``."""
    config = load_config(config_file)
    store = Path(store) if store is not None else Path(out) / "curated"
    check_history_store(out, store, month)
    clear_stale_staging(Path(out))
    clear_unadopted(store)
    with work_cleared_on_failure(Path(out), month), staged_month(Path(out), month) as staging:
        drops = checked_drop(inbox, month, out, config)
        # Side by side: what is prepared joins the history only once every suite passed.
        prepared = prepare_curation.submit(drops, store, month)
        reports = validate_month_drop(drops, config, month, store, staging / "data-docs")
        curate_month(prepared.result())
        record_drop_outcomes(drops, out, config, staging)
        apply_drop_recoveries(drops, out, config, staging)
        model = choose_model(store, out, month, config)
        detected = score_month(store, out, month, config, model)
        carried = carry_open_cases(
            detected.cases, store, out, month, config, detected.custody_links
        )
        list_suspensions([suspend(store, month, config, detected.custody_links)], staging)
        summary = emit_month(detected, carried, drops, reports, config, out, month, staging, model)
    record_history_store(out, store)
    forget_raw_copies(out, config)
    publish_artifacts(summary, reports, out, config)
    return summary


def check_history_store(out: Path, store: Path, month: str) -> None:
    """Refuse to run ``month`` on a curated history that lacks months OUT processed before
    it (a forgotten or wrong ``--store``): its detection would miss their history and list
    other cases. Raises :class:`ContractError` naming the store, the months and, when OUT
    recorded it, the store they were kept in."""
    missing = months_missing_from_store(out, store, month)
    if not missing:
        return
    span = missing[0] if len(missing) == 1 else f"{missing[0]}..{missing[-1]}"
    kept = recorded_history_store(out)
    if kept is not None and kept != Path(store).resolve():
        where = f"their history is in {kept}: run with --store {kept}"
    elif partitions_root(out).is_dir():
        where = "they were run partitioned: run with --partition-by region"
    else:
        where = "give --store the curated history they were kept in"
    raise ContractError(
        str(store),
        None,
        f"the curated history lacks {len(missing)} month(s) {out} has processed ({span}); {where}",
    )


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


__all__ = [
    "SCHEDULE_TIMEZONE",
    "MonthSummary",
    "catch_up",
    "check_history_store",
    "check_processed_inputs",
    "guard_output",
    "inbox_months",
    "monthly_audit",
    "months_to_run",
    "previous_month",
    "scheduled_audit",
]
