"""The monthly audit of a province, one partition per region, on Dask.

    read the month's drop and check every row → validate each dataset (as one drop)
    → give each person to a partition (the region that first registered them)
    → keep each partition's rows in its own curated history
    → per partition, on the workers: the persons and the receivers they are paid through
    → per partition, on the workers while the next two steps run here: its part of the
      suspension list
    → link the death records against the whole province's register
    → find the persons a partition must see from others (receivers shared across regions)
    → per partition, on the workers: gather its persons' rows that others must see
    → per partition, on the workers: the rule families and the features of its own persons
    → fit the risk model on the audited persons' features and rank all cases together
    → merge the suspensions → emit the case list → record the run in its manifest

The outputs under ``OUT/YYYY-MM`` are the ones :func:`flows.monthly.monthly_audit` writes
for the same drop, byte for byte in the case list (``tests/flows/test_partitioned.py``).
Layout and the reasoning per step: ``docs/operations.md``, "Partitioned runs". The steps
are the single run's: its tasks (:mod:`flows.intake`, :func:`flows.scoring.choose_model`,
:mod:`flows.suspensions`, :func:`flows.publishing.emit_month`) and detection's steps
(:mod:`sentinel.detection`) run on each partition, then ranked together; the split, the
halo and the files passed between steps are :mod:`sentinel.partition`'s. This module only
wires them.
"""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, task

from flows.context import FILE_RETRY, run_logger
from flows.intake import (
    apply_drop_recoveries,
    checked_drop,
    record_drop_outcomes,
    validate_against,
)
from flows.publishing import MonthSummary, emit_month, forget_raw_copies, publish_artifacts
from flows.scoring import case_key, choose_model, open_cases_carried
from flows.suspensions import list_suspensions, suspend
from sentinel.config import SentinelConfig, load_config
from sentinel.detection import MonthDetection, rank_findings
from sentinel.engines import partition_engine
from sentinel.ingest import StoredDrop
from sentinel.io.store import clear_stale_staging, staged_month
from sentinel.io.work import work_cleared_on_failure
from sentinel.partition import (
    find_partition_candidates,
    global_store,
    keep_findings,
    link_province_deaths,
    month_work,
    partition_history,
    partition_names,
    partition_store,
    previous_rows,
    project_partition,
    province_findings,
    record_halo,
    send_halo_rows,
    split_drop,
)
from sentinel.risk import ModelChoice
from sentinel.validation import ValidationReport


@flow(name="partitioned-audit", log_prints=False)
def partitioned_audit(
    inbox: Path,
    out: Path,
    month: str,
    region_digits: int = 4,
    config_file: Path | None = None,
) -> MonthSummary:
    """Run the monthly procedure for ``INBOX/YYYY-MM`` with one partition per region."""
    config = load_config(config_file)
    out = Path(out)
    clear_stale_staging(out)
    work = work_cleared_on_failure(out, month, month_work(out, month))
    with work, staged_month(out, month) as staging:
        drops = checked_drop(inbox, month, out, config)
        reports = validate_province_drop(drops, config, month, out, staging / "data-docs")
        partitions = split_month(drops, out, month, region_digits)
        record_drop_outcomes(drops, out, config, staging)
        apply_drop_recoveries(drops, out, config, staging)
        _on_workers(summarise_partition_history, partitions, out, month, config)
        # A partition's suspensions read only its own register and certifications: the
        # workers list them while this process links the deaths and finds the halo.
        suspending = [
            suspend.submit(partition_store(out, p).root, month, config) for p in partitions
        ]
        link_deaths_across(out, month, partitions)
        halo = find_halo(out, month, partitions)
        _on_workers(gather_halo_rows, partitions, out, month)
        candidates = _on_workers(detect_partition, partitions, out, month, config)
        run_logger().info(
            "%d partitions, %d halo persons, %d candidates", len(partitions), halo, sum(candidates)
        )
        # The drops' audit outcomes are kept in the global store.
        model = choose_model(global_store(out).root, out, month, config)
        detected = rank_province(out, month, partitions, config, model)
        carried = carry_province_cases(detected.cases, out, month, partitions, config)
        list_suspensions(_wait(suspending), staging)
        summary = emit_month(detected, carried, drops, reports, config, out, month, staging, model)
    forget_raw_copies(out, config)
    publish_artifacts(summary, reports, out, config)
    return summary


@task(**FILE_RETRY)
def split_month(
    drops: dict[str, StoredDrop], out: Path, month: str, region_digits: int
) -> list[str]:
    """Give this month's new persons an owning partition and store every person-keyed row
    in its owner's curated history (death records and outcomes in the global one)."""
    return split_drop(drops, out, month, region_digits)


@task
def validate_province_drop(
    drops: dict[str, StoredDrop], config: SentinelConfig, month: str, out: Path, docs_dir: Path
) -> dict[str, ValidationReport]:
    """Great Expectations suites on the whole drop, as the single-process run does (the
    rows of the month before summed over the partitions)."""
    previous = previous_rows(out, month, config.ingest.row_count_datasets, partition_names(out))
    return validate_against(drops, config, month, previous, docs_dir)


@task(**FILE_RETRY)
def summarise_partition_history(
    out: Path, partition: str, month: str, config: SentinelConfig
) -> str:
    """The partition's register and paid ledger up to ``month`` summarised per person (its
    summaries of the month before extended by this month's rows): what its detection reads.
    Then, from these summaries, its projections for the global steps
    (:func:`sentinel.partition.project_partition`)."""
    store = partition_store(out, partition)
    store.summarise_register(month)
    store.summarise_ledger(month)
    return project_partition(out, partition, month, config)


@task
def link_deaths_across(out: Path, month: str, partitions: list[str]) -> None:
    """Death records linked against every partition's persons at once (a namesake or an ID
    one typo away in another region changes the answer)."""
    link_province_deaths(out, month, partitions)


@task
def find_halo(out: Path, month: str, partitions: list[str]) -> int:
    """Persons each partition must see from the others (receivers shared across regions)."""
    return record_halo(out, month, partitions)


@task
def gather_halo_rows(out: Path, partition: str, month: str) -> int:
    """The rows of this partition's persons that other partitions must see (their halo),
    read from its history once for all of them."""
    return send_halo_rows(out, partition, month)


@task
def detect_partition(out: Path, partition: str, month: str, config: SentinelConfig) -> int:
    """The rule families and features of the partition's own persons (with its halo, and
    the province's death links); writes their findings, returns how many candidates."""
    with partition_engine():
        findings = find_partition_candidates(out, partition, month, config)
        return keep_findings(findings, out, month, partition)


@task
def rank_province(
    out: Path, month: str, partitions: list[str], config: SentinelConfig, model: ModelChoice
) -> MonthDetection:
    """Score every partition's reasons against the province's recipients, with one model,
    and rank the cases together; name the province's policy events."""
    key = case_key(out)
    with partition_engine():
        findings = province_findings(out, month, partitions)
        return rank_findings(findings, model.load(), month, config, case_key=key)


@task
def carry_province_cases(
    cases: pl.DataFrame, out: Path, month: str, partitions: list[str], config: SentinelConfig
) -> pl.DataFrame:
    """:func:`flows.scoring.carry_open_cases` over the province: a person's payments are
    in their owner's partition."""
    histories = [partition_history(out, p, month) for p in partitions]
    return open_cases_carried(cases, out, month, config, histories)


def _on_workers(step: Any, partitions: list[str], *args: Any) -> list[Any]:
    """Run ``step(out, partition, ...)`` for every partition on the task runner and wait."""
    out, *rest = args
    return _wait([step.submit(out, p, *rest) for p in partitions])


def _wait(futures: list[Any]) -> list[Any]:
    """The results of submitted task runs, in order (the first failure raises)."""
    return [future.result() for future in futures]


def dask_runner(
    workers: int = 2, address: str | None = None, polars_threads: int | None = None
) -> Any:
    """prefect-dask's task runner: an existing scheduler at ``address``, else a local
    cluster of ``workers`` processes with one Dask thread each. Each worker's polars
    thread pool gets ``polars_threads`` threads (by default this machine's cores shared
    among the workers, at least one): without it every worker starts one polars thread
    per core, and two workers on two cores contend for them. ``POLARS_MAX_THREADS`` set
    in the environment wins (Dask's rule for the workers' environment)."""
    import dask
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    if polars_threads is None:
        polars_threads = max(1, (os.cpu_count() or 1) // workers)
    # The workers' environment from their start (a nanny's own ``env`` is applied after
    # the worker process has imported polars, too late to size its pool).
    dask.config.set({"distributed.nanny.pre-spawn-environ.POLARS_MAX_THREADS": polars_threads})
    return _local_runner_class()(
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )


@functools.cache
def _local_runner_class() -> type:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect_dask import DaskTaskRunner

    class LocalDaskTaskRunner(DaskTaskRunner):
        """prefect-dask's runner whose local workers report to the flow's Prefect API.

        With no ``PREFECT_API_URL`` configured, the flow starts a temporary API server of
        its own, and the workers, which receive the flow's settings with each task, would
        each start another (a server process per worker, all three writing to one
        database). While the cluster runs, the flow's settings name its server."""

        def __enter__(self):  # type: ignore[no-untyped-def]
            self._api = contextlib.ExitStack()
            if not PREFECT_API_URL.value():
                api = str(get_client(sync_client=True).api_url).rstrip("/")
                self._api.enter_context(temporary_settings(updates={PREFECT_API_URL: api}))
            try:
                return super().__enter__()
            except BaseException:
                self._api.close()
                raise

        def __exit__(self, *exc_info: Any) -> None:
            try:
                super().__exit__(*exc_info)
            finally:
                self._api.close()

    return LocalDaskTaskRunner


__all__ = ["dask_runner", "partitioned_audit"]
