"""The halo of a partition: the persons of other partitions it must see, connected to its
own through receivers (bank accounts, collectors) shared across partitions, and the rows of
theirs each owner sends.

What one partition cannot see by itself, its halo brings in: group sizes, rings and the
deaths among ring members are then the same as in the whole province.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sentinel.io.store import LEDGER_RUNS, REGISTER_RUNS
from sentinel.partition.layout import (
    PERSON_ROUTED,
    halo_rows_folder,
    month_work,
    owner_table,
    partition_store,
)
from sentinel.partition.owners import person_key


def cross_partition_halo(edges: pl.LazyFrame) -> pl.DataFrame:
    """Persons a partition must see besides its own: ``partition, person_id``.

    ``edges`` holds every partition's person–receiver edges (``partition`` = the person's
    owner, ``person_id, receiver, kind``). A receiver used in two partitions connects
    them; the halo of a partition is every person of another partition in a connected
    component (over receivers shared by two or more persons) that reaches one of its own
    persons. Then group sizes, rings and the deaths among ring members are the same as
    in the whole province.
    """
    edge_frame = edges.select("partition", "person_id", "receiver", "kind").unique().collect()
    shared = (
        edge_frame.group_by("receiver", "kind")
        .agg(
            pl.col("person_id").n_unique().alias("_people"),
            pl.col("partition").n_unique().alias("_parts"),
        )
        .filter(pl.col("_people") >= 2)
    )
    graph = edge_frame.join(shared, on=["receiver", "kind"], how="semi")
    crossing = shared.filter(pl.col("_parts") >= 2)
    empty = pl.DataFrame(schema={"partition": pl.String, "person_id": pl.String})
    if crossing.height == 0:
        return empty
    # Everyone reachable from a crossing receiver, then their components (min-label spread).
    reached = graph.join(crossing, on=["receiver", "kind"], how="semi").select("person_id").unique()
    while True:
        receivers = (
            graph.join(reached, on="person_id", how="semi").select("receiver", "kind").unique()
        )
        grown = (
            graph.join(receivers, on=["receiver", "kind"], how="semi").select("person_id").unique()
        )
        if grown.height == reached.height:
            break
        reached = grown
    sub = graph.join(reached, on="person_id", how="semi")
    labels = sub.select("person_id").unique().with_columns(pl.col("person_id").alias("component"))
    while True:
        by_receiver = (
            sub.join(labels, on="person_id")
            .group_by("receiver", "kind")
            .agg(pl.col("component").min())
        )
        new = (
            sub.join(by_receiver, on=["receiver", "kind"])
            .group_by("person_id")
            .agg(pl.col("component").min())
        )
        if new.join(labels, on=["person_id", "component"], how="anti").height == 0:
            break
        labels = new
    owners = sub.select("person_id", pl.col("partition").alias("owner")).unique()
    members = labels.join(owners, on="person_id")
    parts = members.select("component", pl.col("owner").alias("partition")).unique()
    return (
        members.join(parts, on="component")
        .filter(pl.col("owner") != pl.col("partition"))
        .select("partition", "person_id")
        .unique()
        .sort("partition", "person_id")
    )


def record_halo(out: Path, month: str, partitions: list[str]) -> int:
    """Persons each partition must see from the others, with their owner, from every
    partition's person–receiver edges; kept as the month's ``halo.parquet``."""
    work = month_work(out, month)
    edges = pl.concat([pl.scan_parquet(work / p / "edges.parquet") for p in partitions])
    halo = cross_partition_halo(edges)
    owners = (
        owner_table(out).filter(pl.col("person_id").is_in(halo["person_id"].implode())).collect()
    )
    halo = halo.join(owners.rename({"partition": "owner"}), on="person_id")
    halo.write_parquet(work / "halo.parquet")
    return halo.height


def partition_halo(out: Path, month: str, partition: str) -> pl.DataFrame:
    """``partition, person_id, owner`` of the persons ``partition`` must see this month."""
    halo = pl.read_parquet(month_work(out, month) / "halo.parquet")
    return halo.filter(pl.col("partition") == partition)


def send_halo_rows(out: Path, partition: str, month: str) -> int:
    """The rows of this partition's persons that other partitions must see (their halo),
    read from its history once for all of them: partitions then read these few rows, not
    the histories of every partition their receivers reach. Returns how many persons."""
    wanted = (
        pl.scan_parquet(month_work(out, month) / "halo.parquet")
        .filter(pl.col("owner") == partition)
        .select("person_id")
        .unique()
        .collect()
    )
    if wanted.height == 0:
        return 0
    folder = halo_rows_folder(out, month, partition)
    folder.mkdir(parents=True, exist_ok=True)
    store = partition_store(out, partition)
    register_runs, ledger_runs = store.register_runs(month), store.ledger_runs(month)

    def send(rows: pl.LazyFrame, name: str) -> None:
        is_wanted = person_key(pl.col("person_id")).is_in(wanted["person_id"].implode())
        rows.filter(is_wanted).collect().write_parquet(folder / f"{name}.parquet")

    # The runs stand for the rows they summarise: those rows are not sent (twelve register
    # snapshots and twelve months of payouts are most of what a partition keeps).
    summarised = {
        "beneficiaries": register_runs,
        "payouts": ledger_runs,
        "quarantined_payouts": ledger_runs,
    }
    for name in PERSON_ROUTED:
        if summarised.get(name) is None:
            send(store.scan(name, up_to=month), name)
    for name, runs in ((REGISTER_RUNS, register_runs), (LEDGER_RUNS, ledger_runs)):
        if runs is not None:
            send(runs, name)
    return wanted.height
