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
Layout and the reasoning per step: ``docs/operations.md``, "Partitioned runs". Partition
logic (pure polars) lives in :mod:`sentinel.partition`; this module only wires it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, task

from features.certification import survival_evidence
from features.deaths import link_deaths
from features.history import register_people
from features.network import receiver_changes, receiver_edges
from features.policy import event_counts, policy_events
from features.scoring import (
    listable,
    reason_base_rates,
    recipients_by_scheme,
    score_reasons,
)
from features.survival import signal_shares, survival_signals
from features.suspension import SUSPENSION_ORDER
from flows.monthly import (
    MonthSummary,
    apply_drop_recoveries,
    checked_drop,
    emit_month,
    forget_raw_copies,
    learned_model,
    month_suspensions,
    open_cases_carried,
    publish_artifacts,
    record_drop_outcomes,
    run_logger,
    validate_against,
)
from sentinel.config import SentinelConfig, load_config
from sentinel.contract import CUSTODY, SUSPECTS, typed_schema
from sentinel.detection import (
    MonthDetection,
    MonthHistory,
    last_paid,
    month_ledger_runs,
    month_register_runs,
    prepare_month,
    prepared_person_features,
    prepared_rule_reasons,
    rank_candidates,
)
from sentinel.engines import partition_engine
from sentinel.ingest import StoredDrop
from sentinel.io.reports import write_csv_bom
from sentinel.io.store import (
    LEDGER_RUNS,
    REGISTER_RUNS,
    clear_stale_staging,
    staged_month,
)
from sentinel.partition import (
    GLOBAL_DATASETS,
    OWNERS_FILE,
    PERSON_ROUTED,
    cross_partition_halo,
    global_store,
    partition_store,
    partitions_root,
    person_key,
    route_rows,
    update_owners,
)
from sentinel.risk import ModelChoice


def _work(out: Path, month: str) -> Path:
    # Not under OUT/.work/YYYY-MM: checking a drop clears that folder of other entries.
    return partitions_root(out) / ".work" / month


def _partitions(out: Path) -> list[str]:
    root = partitions_root(out)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _owners(out: Path) -> pl.LazyFrame:
    return pl.scan_parquet(partitions_root(out) / OWNERS_FILE)


@task(retries=2, retry_delay_seconds=[2, 10])
def split_month(
    drops: dict[str, StoredDrop], out: Path, month: str, region_digits: int
) -> list[str]:
    """Give this month's new persons an owning partition and store every person-keyed row
    in its owner's curated history (death records and outcomes in the global one)."""
    root = partitions_root(out)
    root.mkdir(parents=True, exist_ok=True)
    # Lazy scans of the checked files: one dataset is held at a time (a province month is
    # 20M register rows and as many payouts).
    frames = {
        "beneficiaries": drops["beneficiaries"].scan_loaded(),
        "payouts": drops["payouts"].scan_loaded(),
        "quarantined_payouts": drops["payouts"].scan_quarantined(),
        "certifications": drops["certifications"].scan_loaded(),
    }
    owners_file = root / OWNERS_FILE
    known = pl.scan_parquet(owners_file) if owners_file.exists() else None
    others = pl.concat(
        [frames[name].select(pl.col("person_id").cast(pl.String)) for name in PERSON_ROUTED[1:]]
    )
    register = frames["beneficiaries"].with_columns(pl.lit(month).alias("month"))
    owners = update_owners(known, register, others, digits=region_digits).collect(
        engine="streaming"
    )
    tmp = root / f".{OWNERS_FILE}.tmp"
    owners.write_parquet(tmp)
    tmp.replace(owners_file)
    partitions = sorted(owners["partition"].drop_nulls().unique().to_list())
    sunk = _work(out, month) / "split"
    for name, frame in frames.items():
        # One streamed pass writes every partition's rows to its own file, in the drop's
        # row order (the month is never held whole: 20M register rows, as many payouts).
        # A row whose person has no owner (no usable ID) lands in polars' null-key folder
        # and, as before, in no partition: its person cannot be scored.
        shutil.rmtree(sunk, ignore_errors=True)
        route_rows(frame, owners.lazy()).sink_parquet(
            pl.PartitionBy(
                sunk,
                key="_partition",
                include_key=False,
                max_rows_per_file=None,
                approximate_bytes_per_file=None,
            ),
            mkdir=True,
        )
        empty = frame.clear().collect()
        for partition in partitions:
            files = sorted((sunk / f"_partition={partition}").glob("*.parquet"))
            store = partition_store(out, partition)
            if len(files) == 1:
                store.adopt_month(name, month, files[0])
            else:  # none this month (an empty month partition keeps the history scannable)
                store.write_month(name, month, pl.concat([empty, *map(pl.read_parquet, files)]))
    shutil.rmtree(sunk, ignore_errors=True)
    for name in GLOBAL_DATASETS:
        global_store(out).write_month(name, month, drops[name].loaded)
    return partitions


def _previous_rows(
    out: Path, month: str, datasets: list[str], partitions: list[str]
) -> dict[str, int]:
    """Guarded rows of the latest earlier month per dataset, summed over the partitions."""
    counts: dict[str, int] = {}
    for name in datasets:
        stores = (
            [partition_store(out, p) for p in partitions]
            if name in PERSON_ROUTED
            else [global_store(out)]
        )
        earlier = sorted({m for s in stores for m in s.months(name) if m < month})
        if earlier:
            counts[name] = sum(s.guarded_rows(name, earlier[-1]) or 0 for s in stores)
    return counts


@task
def validate_province_drop(
    drops: dict[str, StoredDrop], config: SentinelConfig, month: str, out: Path, docs_dir: Path
) -> dict[str, Any]:
    """Great Expectations suites on the whole drop, as the single-process run does."""
    root = partitions_root(out)
    partitions = _partitions(out) if root.exists() else []
    previous = _previous_rows(out, month, config.ingest.row_count_datasets, partitions)
    return validate_against(drops, config, month, previous, docs_dir)


def _partition_history(
    out: Path, partition: str, month: str, halo: pl.DataFrame | None = None
) -> MonthHistory:
    """The partition's history up to ``month``, plus the rows of its halo persons (read
    from the halo rows :func:`gather_halo_rows` wrote, not from the owners' histories).

    An owner that keeps a summary (register or ledger runs) sends its halo persons' runs
    instead of their rows: the history's register, payouts and quarantined payouts then
    hold the partition's own rows only, and its runs stand for all of them.
    """
    store = partition_store(out, partition)
    register_runs = _partition_runs(out, store.register_runs(month), REGISTER_RUNS, month, halo)
    ledger_runs = _partition_runs(out, store.ledger_runs(month), LEDGER_RUNS, month, halo)
    summary = {
        "beneficiaries": register_runs,
        "payouts": ledger_runs,
        "quarantined_payouts": ledger_runs,
    }

    def scan(name: str) -> pl.LazyFrame:
        own = store.scan(name, up_to=month)
        if halo is None or halo.height == 0:
            return own
        owners = sorted(halo["owner"].unique())
        files = [_work(out, month) / HALO_ROWS / owner / f"{name}.parquet" for owner in owners]
        missing = [file for file in files if not file.exists()]
        if missing and summary.get(name) is None:
            raise FileNotFoundError(
                f"partition {partition}: the {name} rows of its halo persons are not in "
                f"{missing[0]} and no summary stands for them; run the month again"
            )
        foreign = [
            pl.scan_parquet(file).filter(
                person_key(pl.col("person_id")).is_in(halo["person_id"].implode())
            )
            for file in files
            if file.exists()
        ]
        return pl.concat([own, *foreign], how="diagonal_relaxed")

    glob = global_store(out)
    return MonthHistory(
        month=month,
        register=scan("beneficiaries"),
        payouts=scan("payouts"),
        quarantined_payouts=scan("quarantined_payouts"),
        deaths=glob.scan("deaths", up_to=month),
        certifications=scan("certifications"),
        outcomes=glob.scan("outcomes", up_to=month),
        custody=glob.scan("custody", up_to=month, schema=typed_schema(CUSTODY)),
        suspects=glob.scan("suspects", up_to=month, schema=typed_schema(SUSPECTS)),
        register_runs=register_runs,
        ledger_runs=ledger_runs,
    )


def _partition_runs(
    out: Path, own: pl.LazyFrame | None, name: str, month: str, halo: pl.DataFrame | None
) -> pl.LazyFrame | None:
    """The partition's summary ``own`` (register or ledger runs, dataset ``name``) plus its
    halo persons' runs; None (summarise the rows instead) when the partition or an owner of
    its halo keeps none."""
    if own is None or halo is None or halo.height == 0:
        return own
    files = [
        _work(out, month) / HALO_ROWS / owner / f"{name}.parquet"
        for owner in sorted(halo["owner"].unique())
    ]
    if not all(file.exists() for file in files):
        return None
    foreign = [
        pl.scan_parquet(file).filter(
            person_key(pl.col("person_id")).is_in(halo["person_id"].implode())
        )
        for file in files
    ]
    return pl.concat([own, *foreign], how="diagonal_relaxed")


#: Folder (under the month's work folder) of the halo persons' rows, one folder per owning
#: partition and one file per dataset in it.
HALO_ROWS = "halo-rows"


@task(retries=2, retry_delay_seconds=[2, 10])
def summarise_partition_history(
    out: Path, partition: str, month: str, config: SentinelConfig
) -> str:
    """The partition's register and paid ledger up to ``month`` summarised per person (its
    summaries of the month before extended by this month's rows): what its detection reads.
    Then, from these summaries, its projections for the global steps (:func:`project_partition`)."""
    store = partition_store(out, partition)
    store.summarise_register(month)
    store.summarise_ledger(month)
    return project_partition(out, partition, month, config)


def project_partition(out: Path, partition: str, month: str, config: SentinelConfig) -> str:
    """The partition's narrow projections for the global steps: its registered persons
    (ID, name, sex, birth date), its person–receiver edges, and how many of its persons
    show each survival signal (the province's shares are their sums)."""
    history = _partition_history(out, partition, month)
    runs = month_register_runs(history).collect().lazy()
    ledger = month_ledger_runs(history).collect().lazy()
    folder = _work(out, month) / partition
    folder.mkdir(parents=True, exist_ok=True)
    registered = register_people(runs).collect().lazy()
    evidence = survival_evidence(history.certifications, registered, month, config)
    changes = receiver_changes(runs, ledger)
    people, edges, counts = pl.collect_all(
        [
            registered.select("person_id", "name", "sex", "birth_date"),
            receiver_edges(runs, ledger, month, config).select("person_id", "receiver", "kind"),
            signal_shares(survival_signals(ledger, registered, evidence, changes, month, config)),
        ]
    )
    people.write_parquet(folder / "people.parquet")
    edges.with_columns(pl.lit(partition).alias("partition")).write_parquet(folder / "edges.parquet")
    counts.write_parquet(folder / "signal_counts.parquet")
    return partition


@task
def link_deaths_across(out: Path, month: str, partitions: list[str]) -> None:
    """Death records linked against every partition's persons at once (a namesake or an ID
    one typo away in another region changes the answer)."""
    work = _work(out, month)
    people = pl.concat([pl.scan_parquet(work / p / "people.parquet") for p in partitions]).sort(
        "person_id"
    )
    deaths = global_store(out).scan("deaths", up_to=month)
    link_deaths(deaths, people).collect().write_parquet(work / "links.parquet")


@task
def find_halo(out: Path, month: str, partitions: list[str]) -> int:
    """Persons each partition must see from the others (receivers shared across regions)."""
    work = _work(out, month)
    edges = pl.concat([pl.scan_parquet(work / p / "edges.parquet") for p in partitions])
    halo = cross_partition_halo(edges)
    owners = _owners(out).filter(pl.col("person_id").is_in(halo["person_id"].implode())).collect()
    halo = halo.join(owners.rename({"partition": "owner"}), on="person_id")
    halo.write_parquet(work / "halo.parquet")
    return halo.height


@task
def gather_halo_rows(out: Path, partition: str, month: str) -> int:
    """The rows of this partition's persons that other partitions must see (their halo),
    read from its history once for all of them: partitions then read these few rows, not
    the histories of every partition their receivers reach."""
    work = _work(out, month)
    wanted = (
        pl.scan_parquet(work / "halo.parquet")
        .filter(pl.col("owner") == partition)
        .select("person_id")
        .unique()
        .collect()
    )
    if wanted.height == 0:
        return 0
    folder = work / HALO_ROWS / partition
    folder.mkdir(parents=True, exist_ok=True)
    store = partition_store(out, partition)
    register_runs, ledger_runs = store.register_runs(month), store.ledger_runs(month)
    # The runs stand for the rows they summarise: those rows are not sent (twelve register
    # snapshots and twelve months of payouts are most of what a partition keeps).
    summarised = {
        "beneficiaries": register_runs,
        "payouts": ledger_runs,
        "quarantined_payouts": ledger_runs,
    }
    for name in PERSON_ROUTED:
        if summarised.get(name) is None:
            store.scan(name, up_to=month).filter(
                person_key(pl.col("person_id")).is_in(wanted["person_id"].implode())
            ).collect().write_parquet(folder / f"{name}.parquet")
    for name, runs in ((REGISTER_RUNS, register_runs), (LEDGER_RUNS, ledger_runs)):
        if runs is not None:
            runs.filter(
                person_key(pl.col("person_id")).is_in(wanted["person_id"].implode())
            ).collect().write_parquet(folder / f"{name}.parquet")
    return wanted.height


@task
def detect_partition(out: Path, partition: str, month: str, config: SentinelConfig) -> int:
    """The rule families and features of the partition's own persons (with its halo, and
    the province's death links); writes their features and the candidate cases."""
    with partition_engine():
        return _detect_partition(out, partition, month, config)


def _detect_partition(out: Path, partition: str, month: str, config: SentinelConfig) -> int:
    work = _work(out, month)
    folder = work / partition
    halo = pl.read_parquet(work / "halo.parquet").filter(pl.col("partition") == partition)
    history = _partition_history(out, partition, month, halo)
    seen = pl.concat(
        [
            pl.scan_parquet(folder / "people.parquet").select("person_id"),
            halo.lazy().select("person_id"),
        ]
    )
    links = pl.scan_parquet(work / "links.parquet").join(seen, on="person_id", how="semi")
    shares = (
        pl.concat([pl.scan_parquet(work / p / "signal_counts.parquet") for p in _partitions(out)])
        .group_by("scheme", "signal")
        .agg(pl.col("persons").sum(), pl.col("paid").sum())
    )
    prep = prepare_month(history, config, links=links, shares=shares)
    owned = _owners(out).filter(pl.col("partition") == partition).select("person_id")
    # The partition's own persons only: their reasons, the recipients they count in and
    # their features; the province-wide base rates and tiers are taken when ranking.
    reasons = prepared_rule_reasons(prep, config).join(owned, on="person_id", how="semi").collect()
    reasons.write_parquet(folder / "reasons.parquet")
    own_ledger = prep.ledger.join(owned, on="person_id", how="semi")
    recipients_by_scheme(own_ledger, month).collect().write_parquet(folder / "recipients.parquet")
    event_counts(own_ledger, month).collect().write_parquet(folder / "event_counts.parquet")
    persons = reasons.lazy().select("person_id").unique()
    prep.people.join(persons, on="person_id", how="semi").select(
        "person_id", "scheme"
    ).collect().write_parquet(folder / "schemes.parquet")
    features = prepared_person_features(prep, persons).collect()
    features.write_parquet(folder / "candidates.parquet")
    return features.height


@task
def rank_province(
    out: Path, month: str, partitions: list[str], config: SentinelConfig, model: ModelChoice
) -> MonthDetection:
    """Score every partition's reasons against the province's recipients, with one model,
    and rank the cases together; name the province's policy events."""
    work = _work(out, month)

    def every(name: str) -> pl.LazyFrame:
        return pl.concat(
            [pl.scan_parquet(work / p / name) for p in partitions], how="vertical_relaxed"
        )

    with partition_engine():
        recipients = (
            every("recipients.parquet")
            .group_by("scheme")
            .agg(pl.col("recipients").sum())
            .sort("scheme")
            .collect()
        )
        reasons, people = every("reasons.parquet"), every("schemes.parquet")
        base_rates = reason_base_rates(reasons, people, recipients.lazy()).collect()
        scored = (
            score_reasons(
                reasons,
                people,
                base_rates.lazy(),
                config.detection.common_reason_share,
                config.detection.min_suspected_death_probability,
                recipients=int(recipients["recipients"].sum()),
            )
            .filter(listable(config.detection.audit_capacity))
            .collect()
        )
        candidates = (
            every("candidates.parquet")
            .collect()
            .join(scored, on="person_id", how="inner")
            .sort("person_id")
        )
        cases = rank_candidates(candidates, model.load(), month, config).collect()
        counts = every("event_counts.parquet").collect()
    events = policy_events(counts, recipients, base_rates, month, config)
    return MonthDetection(cases, events, int(recipients["recipients"].sum()))


@task
def choose_province_model(out: Path, month: str, config: SentinelConfig) -> ModelChoice:
    """:func:`flows.monthly.choose_model` over the province: the drops' outcomes are kept
    in the global store."""
    outcomes = global_store(out).scan("outcomes", up_to=month)
    return learned_model(outcomes, out, month, config)


@task
def carry_province_cases(
    cases: pl.DataFrame, out: Path, month: str, partitions: list[str], config: SentinelConfig
) -> pl.DataFrame:
    """:func:`flows.monthly.carry_open_cases` over the province: a person's payments are
    in their owner's partition."""

    def paid_up_to(persons: pl.LazyFrame) -> pl.DataFrame:
        return (
            pl.concat(
                [
                    last_paid(_partition_history(out, p, month), persons, config).collect()
                    for p in partitions
                ]
            )
            .sort("person_id", "last_pass_date", "last_pass_method", nulls_last=False)
            .group_by("person_id")
            .agg(
                pl.col("last_paid_index").max(),
                pl.col("pension_terminated").any(),
                pl.col("last_pass_date").last(),
                pl.col("last_pass_method").last(),
                pl.col("acquitted_on").max(),
            )
        )

    return open_cases_carried(cases, out, month, config, paid_up_to)


@task
def suspend_partition(
    out: Path, partition: str, month: str, config: SentinelConfig
) -> int:
    """The partition's part of the suspension list (a person's register rows and
    certifications are all in their owner's partition)."""
    suspensions = month_suspensions(
        partition_store(out, partition), _partition_history(out, partition, month), month, config
    )
    suspensions.write_parquet(_work(out, month) / partition / "suspensions.parquet")
    return suspensions.height


@task(retries=2, retry_delay_seconds=[2, 10])
def list_province_suspensions(out: Path, month: str, partitions: list[str], staging: Path) -> int:
    """The suspension list over every partition, in the order
    :func:`flows.monthly.list_suspensions` writes it."""
    work = _work(out, month)
    suspensions = (
        pl.concat(
            [pl.scan_parquet(work / p / "suspensions.parquet") for p in partitions],
            how="vertical_relaxed",
        )
        .sort(*SUSPENSION_ORDER)
        .collect()
    )
    suspensions.write_parquet(staging / "suspensions.parquet")
    write_csv_bom(suspensions, staging / "suspensions.csv")
    return suspensions.height


def _on_workers(step: Any, partitions: list[str], *args: Any) -> list[Any]:
    """Run ``step(out, partition, ...)`` for every partition on the task runner and wait."""
    out, *rest = args
    return _wait([step.submit(out, p, *rest) for p in partitions])


def _wait(futures: list[Any]) -> list[Any]:
    """The results of submitted task runs, in order (the first failure raises)."""
    return [future.result() for future in futures]


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
    with staged_month(out, month) as staging:
        drops = checked_drop(inbox, month, out, config)
        reports = validate_province_drop(drops, config, month, out, staging / "data-docs")
        partitions = split_month(drops, out, month, region_digits)
        record_drop_outcomes(drops, out, config)
        apply_drop_recoveries(drops, out, config, staging)
        _on_workers(summarise_partition_history, partitions, out, month, config)
        # A partition's suspensions read only its own register and certifications: the
        # workers list them while this process links the deaths and finds the halo.
        suspending = [suspend_partition.submit(out, p, month, config) for p in partitions]
        link_deaths_across(out, month, partitions)
        halo = find_halo(out, month, partitions)
        _on_workers(gather_halo_rows, partitions, out, month)
        candidates = _on_workers(detect_partition, partitions, out, month, config)
        run_logger().info(
            "%d partitions, %d halo persons, %d candidates", len(partitions), halo, sum(candidates)
        )
        model = choose_province_model(out, month, config)
        detected = rank_province(out, month, partitions, config, model)
        carried = carry_province_cases(detected.cases, out, month, partitions, config)
        _wait(suspending)
        list_province_suspensions(out, month, partitions, staging)
        summary = emit_month(
            detected, carried, drops, reports, config, out, month, staging, model
        )
    forget_raw_copies(out, config)
    publish_artifacts(summary, reports, out, config)
    return summary


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
