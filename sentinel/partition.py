"""Partitioned runs: which partition owns each person, and the cross-partition projections.

A province-size month is run as one partition per region (the first ``digits`` digits of
the register's ``region_code``). Every row about a person (register rows, payouts,
quarantined payouts, certifications) is stored in the partition that *owns* the person:
the region of their earliest register row, kept for good once assigned (a person who
moves keeps their history in one place). Persons never on the register (unregistered
payees, malformed IDs) are owned by the first partition. Death records and audit outcomes
are small and stay in one global store.

What one partition cannot see by itself is computed globally on narrow projections:
death linkage (a namesake in another region changes the answer), the receivers
(bank accounts, collectors) shared across partitions and the persons connected through
them (the partition's *halo*), the risk model's training sample, and the ranking.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sentinel.io.store import CuratedStore

#: Datasets stored per partition, routed by the owner of ``person_id``.
PERSON_ROUTED: tuple[str, ...] = (
    "beneficiaries",
    "payouts",
    "quarantined_payouts",
    "certifications",
)
#: Datasets kept once, in the global store ``OUT/curated``.
GLOBAL_DATASETS: tuple[str, ...] = ("deaths", "custody", "suspects", "outcomes", "recoveries")
OWNERS_FILE = "owners.parquet"


def partitions_root(out: Path) -> Path:
    """``OUT/partitions``: one folder per partition and the owner table."""
    return Path(out) / "partitions"


def partition_store(out: Path, partition: str) -> CuratedStore:
    """The curated history of one partition, ``OUT/partitions/<partition>/curated``."""
    return CuratedStore(partitions_root(out) / partition / "curated")


def global_store(out: Path) -> CuratedStore:
    """The curated history of the global datasets (deaths, outcomes), ``OUT/curated``."""
    return CuratedStore(Path(out) / "curated")


def person_key(person_id: pl.Expr) -> pl.Expr:
    """The ID as detection reads it (quarantined text is stripped and upper-cased)."""
    return person_id.cast(pl.String).str.strip_chars().str.to_uppercase()


def assign_owners(
    register: pl.LazyFrame, others: pl.LazyFrame, *, digits: int, fallback: str | None
) -> pl.LazyFrame:
    """``person_id, partition`` for every person in ``register`` or ``others``.

    A registered person is owned by the first ``digits`` digits of the region code of
    their earliest register row (ties in one month: the smallest code). A person only
    seen in ``others`` (``person_id``, any rows) is owned by ``fallback``.
    """
    listed = (
        register.select(
            person_key(pl.col("person_id")).alias("person_id"),
            "month",
            pl.col("region_code").str.slice(0, digits).alias("partition"),
        )
        .group_by("person_id")
        .agg(pl.col("partition").sort_by("month", "partition").first())
    )
    unlisted = (
        others.select(person_key(pl.col("person_id")).alias("person_id"))
        .filter(pl.col("person_id").is_not_null() & (pl.col("person_id") != ""))
        .unique()
        .join(listed, on="person_id", how="anti")
        .with_columns(pl.lit(fallback, dtype=pl.String).alias("partition"))
    )
    return pl.concat([listed, unlisted])


# --------------------------------------------------------------------------- owners and split


def update_owners(
    owners: pl.LazyFrame | None,
    register: pl.LazyFrame,
    others: pl.LazyFrame,
    *,
    digits: int,
) -> pl.LazyFrame:
    """The owner table after a month: earlier owners kept, persons seen first now added.

    ``register`` is the month's loaded register (with ``month``); ``others`` the person IDs
    of the month's other person-keyed rows. A person never registered is owned by the first
    partition (in code order) known after the month.
    """
    known = owners if owners is not None else pl.LazyFrame(schema={"person_id": pl.String, "partition": pl.String})
    regions = register.select(pl.col("region_code").str.slice(0, digits).alias("partition"))
    fallback = (
        pl.concat([known.select("partition"), regions]).drop_nulls().unique().sort("partition").head(1).collect()
    )
    first = fallback["partition"][0] if fallback.height else None
    fresh = assign_owners(register, others, digits=digits, fallback=first).join(known, on="person_id", how="anti")
    return pl.concat([known, fresh])


def route_rows(frame: pl.LazyFrame, owners: pl.LazyFrame) -> pl.LazyFrame:
    """``frame`` with the owning ``_partition`` of each row's ``person_id`` (row order kept)."""
    return frame.with_columns(person_key(pl.col("person_id")).alias("_key")).join(
        owners.rename({"person_id": "_key", "partition": "_partition"}),
        on="_key",
        how="left",
        maintain_order="left",
    ).drop("_key")


# --------------------------------------------------------------------------- cross-partition


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
        .agg(pl.col("person_id").n_unique().alias("_people"), pl.col("partition").n_unique().alias("_parts"))
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
        receivers = graph.join(reached, on="person_id", how="semi").select("receiver", "kind").unique()
        grown = graph.join(receivers, on=["receiver", "kind"], how="semi").select("person_id").unique()
        if grown.height == reached.height:
            break
        reached = grown
    sub = graph.join(reached, on="person_id", how="semi")
    labels = sub.select("person_id").unique().with_columns(pl.col("person_id").alias("component"))
    while True:
        by_receiver = sub.join(labels, on="person_id").group_by("receiver", "kind").agg(pl.col("component").min())
        new = sub.join(by_receiver, on=["receiver", "kind"]).group_by("person_id").agg(pl.col("component").min())
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
