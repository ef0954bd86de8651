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
GLOBAL_DATASETS: tuple[str, ...] = ("deaths", "outcomes")
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
