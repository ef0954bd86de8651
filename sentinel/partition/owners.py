"""Which partition owns each person, and the month's rows split by owner.

A person is owned by the region of their earliest register row (the first ``digits``
digits of its ``region_code``), kept for good once assigned: a person who moves keeps their
history in one place. Persons never on the register (unregistered payees, malformed IDs)
are owned by the first partition.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from sentinel.ingest import StoredDrop
from sentinel.partition.layout import (
    GLOBAL_DATASETS,
    OWNERS_FILE,
    PERSON_ROUTED,
    global_store,
    month_work,
    partition_store,
    partitions_root,
)


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
    known = (
        owners
        if owners is not None
        else pl.LazyFrame(schema={"person_id": pl.String, "partition": pl.String})
    )
    regions = register.select(pl.col("region_code").str.slice(0, digits).alias("partition"))
    fallback = (
        pl.concat([known.select("partition"), regions])
        .drop_nulls()
        .unique()
        .sort("partition")
        .head(1)
        .collect()
    )
    first = fallback["partition"][0] if fallback.height else None
    fresh = assign_owners(register, others, digits=digits, fallback=first).join(
        known, on="person_id", how="anti"
    )
    return pl.concat([known, fresh])


def route_rows(frame: pl.LazyFrame, owners: pl.LazyFrame) -> pl.LazyFrame:
    """``frame`` with the owning ``_partition`` of each row's ``person_id`` (row order kept)."""
    return (
        frame.with_columns(person_key(pl.col("person_id")).alias("_key"))
        .join(
            owners.rename({"person_id": "_key", "partition": "_partition"}),
            on="_key",
            how="left",
            maintain_order="left",
        )
        .drop("_key")
    )


def split_drop(
    drops: dict[str, StoredDrop], out: Path, month: str, region_digits: int
) -> list[str]:
    """Give this month's new persons an owning partition and store every person-keyed row
    in its owner's curated history (death records and outcomes in the global one); returns
    the partitions."""
    # Lazy scans of the checked files: one dataset is held at a time (a province month is
    # 20M register rows and as many payouts).
    frames = {
        "beneficiaries": drops["beneficiaries"].scan_loaded(),
        "payouts": drops["payouts"].scan_loaded(),
        "quarantined_payouts": drops["payouts"].scan_quarantined(),
        "certifications": drops["certifications"].scan_loaded(),
    }
    owners = record_owners(out, month, frames, region_digits)
    partitions = sorted(owners["partition"].drop_nulls().unique().to_list())
    for name, frame in frames.items():
        _store_by_owner(out, month, name, frame, owners, partitions)
    shutil.rmtree(month_work(out, month) / "split", ignore_errors=True)
    for name in GLOBAL_DATASETS:
        global_store(out).write_month(name, month, drops[name].loaded)
    return partitions


def record_owners(
    out: Path, month: str, frames: dict[str, pl.LazyFrame], region_digits: int
) -> pl.DataFrame:
    """The owner table after the month's person-keyed ``frames`` (:func:`update_owners`),
    kept in ``OUT/partitions/owners.parquet``."""
    root = partitions_root(out)
    root.mkdir(parents=True, exist_ok=True)
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
    return owners


def _store_by_owner(
    out: Path,
    month: str,
    name: str,
    frame: pl.LazyFrame,
    owners: pl.DataFrame,
    partitions: list[str],
) -> None:
    """The ``month`` rows of dataset ``name`` stored in each partition's history."""
    sunk = month_work(out, month) / "split"
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
