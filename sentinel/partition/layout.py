"""Where a partitioned run keeps things under ``OUT``: one curated history per partition,
the global history, the owner table, and the month's intermediate files that pass between
the partitions' steps and the global ones."""

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
#: Folder (under the month's work folder) of the halo persons' rows, one folder per owning
#: partition and one file per dataset in it.
HALO_ROWS = "halo-rows"


def partitions_root(out: Path) -> Path:
    """``OUT/partitions``: one folder per partition and the owner table."""
    return Path(out) / "partitions"


def partition_store(out: Path, partition: str) -> CuratedStore:
    """The curated history of one partition, ``OUT/partitions/<partition>/curated``."""
    return CuratedStore(partitions_root(out) / partition / "curated")


def global_store(out: Path) -> CuratedStore:
    """The curated history of the global datasets (deaths, outcomes), ``OUT/curated``."""
    return CuratedStore(Path(out) / "curated")


def month_work(out: Path, month: str) -> Path:
    """``OUT/partitions/.work/YYYY-MM``: the month's files passed between steps (the
    partitions' projections and findings, the death links, the halo and its rows)."""
    # Not under OUT/.work/YYYY-MM: checking a drop clears that folder of other entries.
    return partitions_root(out) / ".work" / month


def halo_rows_folder(out: Path, month: str, owner: str) -> Path:
    """The rows (or runs) that partition ``owner`` sends its halo persons' partitions this
    month, one file per dataset (``<dataset>.parquet``)."""
    return month_work(out, month) / HALO_ROWS / owner


def partition_names(out: Path) -> list[str]:
    """The partitions under ``OUT/partitions``, in order (none before the first split)."""
    root = partitions_root(out)
    if not root.exists():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def owner_table(out: Path) -> pl.LazyFrame:
    """``person_id, partition``: the partition that owns each person."""
    return pl.scan_parquet(partitions_root(out) / OWNERS_FILE)


def previous_rows(
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
