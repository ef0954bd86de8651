"""A partition's history as its detection reads it: its own persons' rows, the rows (or
summaries) its halo persons' owners sent, and the global datasets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from sentinel.contract import CUSTODY, SUSPECTS, typed_schema
from sentinel.detection import MonthHistory
from sentinel.io.store import LEDGER_RUNS, REGISTER_RUNS, CuratedStore
from sentinel.partition.layout import global_store, halo_rows_folder, partition_store
from sentinel.partition.owners import person_key


def partition_history(
    out: Path, partition: str, month: str, halo: pl.DataFrame | None = None
) -> MonthHistory:
    """The partition's history up to ``month``, plus the rows of its ``halo`` persons
    (``person_id, owner``; read from the halo rows :func:`sentinel.partition.send_halo_rows`
    wrote, not from the owners' histories).

    An owner that keeps a summary (register or ledger runs) sends its halo persons' runs
    instead of their rows: the history's register, payouts and quarantined payouts then
    hold the partition's own rows only, and its runs stand for all of them.
    """
    store = partition_store(out, partition)
    register_runs = partition_runs(out, store.register_runs(month), REGISTER_RUNS, month, halo)
    ledger_runs = partition_runs(out, store.ledger_runs(month), LEDGER_RUNS, month, halo)
    summary = {
        "beneficiaries": register_runs,
        "payouts": ledger_runs,
        "quarantined_payouts": ledger_runs,
    }

    def scan(name: str) -> pl.LazyFrame:
        own = store.scan(name, up_to=month)
        if halo is None or halo.height == 0:
            return own
        files = _halo_files(out, month, halo, name)
        missing = [file for file in files if not file.exists()]
        if missing and summary.get(name) is None:
            raise FileNotFoundError(
                f"partition {partition}: the {name} rows of its halo persons are not in "
                f"{missing[0]} and no summary stands for them; run the month again"
            )
        return _with_halo(own, [file for file in files if file.exists()], halo)

    return history_of_stores(
        month,
        scan,
        global_store(out),
        register_runs=register_runs,
        ledger_runs=ledger_runs,
    )


def history_of_stores(
    month: str,
    rows: Callable[[str], pl.LazyFrame],
    shared: CuratedStore,
    *,
    register_runs: pl.LazyFrame | None,
    ledger_runs: pl.LazyFrame | None,
    with_suspects: bool = True,
) -> MonthHistory:
    """A month's history as a partitioned run keeps it: the datasets kept in the partition
    of each person (register, payouts, quarantined payouts, certifications) read through
    ``rows``; deaths, outcomes, custody and, ``with_suspects``, the upstream suspects
    from the ``shared`` global store; the register and ledger summaries as given."""
    return MonthHistory(
        month=month,
        register=rows("beneficiaries"),
        payouts=rows("payouts"),
        quarantined_payouts=rows("quarantined_payouts"),
        deaths=shared.scan("deaths", up_to=month),
        certifications=rows("certifications"),
        outcomes=shared.scan("outcomes", up_to=month),
        custody=shared.scan("custody", up_to=month, schema=typed_schema(CUSTODY)),
        suspects=(
            shared.scan("suspects", up_to=month, schema=typed_schema(SUSPECTS))
            if with_suspects
            else None
        ),
        register_runs=register_runs,
        ledger_runs=ledger_runs,
    )


def partition_runs(
    out: Path, own: pl.LazyFrame | None, name: str, month: str, halo: pl.DataFrame | None
) -> pl.LazyFrame | None:
    """The partition's summary ``own`` (register or ledger runs, dataset ``name``) plus its
    halo persons' runs; None (summarise the rows instead) when the partition or an owner of
    its halo keeps none."""
    if own is None or halo is None or halo.height == 0:
        return own
    files = _halo_files(out, month, halo, name)
    if not all(file.exists() for file in files):
        return None
    return _with_halo(own, files, halo)


def _halo_files(out: Path, month: str, halo: pl.DataFrame, name: str) -> list[Path]:
    """Where each owner of the ``halo`` persons sent their ``name`` rows."""
    owners = sorted(halo["owner"].unique())
    return [halo_rows_folder(out, month, owner) / f"{name}.parquet" for owner in owners]


def _with_halo(own: pl.LazyFrame, files: list[Path], halo: pl.DataFrame) -> pl.LazyFrame:
    """``own`` rows and the ``halo`` persons' rows of ``files``."""
    foreign = [
        pl.scan_parquet(file).filter(
            person_key(pl.col("person_id")).is_in(halo["person_id"].implode())
        )
        for file in files
    ]
    return pl.concat([own, *foreign], how="diagonal_relaxed")
