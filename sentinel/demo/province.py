"""A demo province: one generated base county cloned N times under other region codes.

A province has ~20M pensioners in ~106 counties; generating that many people is slow, so
the province is built by *relabelling* one base county (``sentinel demo --formats parquet``)
N times: each clone's region codes, identity numbers, birth dates, bank accounts and record
numbers are moved as :mod:`sentinel.demo.clones` describes.

Cross-region facts are injected into the new month's drop (:data:`CROSS_REGION_FACTS`):
one pensioner of clone 0 also registered and paid in clone 1, and one bank account of
clone 3 also used by a pensioner of clone 2. Everything streams (in-memory base county,
lazy relabel, ``sink_parquet`` per output file), so 106 clones fit in a few GB.

How to call it::

    # 1. a base county with parquet drops and its curated history (months 1..11)
    sentinel demo --dest base --seed 7 --scale 1.0 --months 12 --formats parquet
    sentinel run --inbox base/inbox --month 2020-11 --out base/out
    # 2. the province: the 2020-12 drop (one parquet per dataset) in PROV/inbox/2020-12 and
    #    the curated history 2020-01..2020-11 per partition under PROV/out/partitions/
    python -m sentinel.demo.province --base base --dest PROV --counties 106 --month 2020-12
    # 3. time the new month
    sentinel run --inbox PROV/inbox --month 2020-12 --out PROV/out --partition-by region

or from Python: ``build_province(Path("base"), Path("PROV"), counties=106, month="2020-12")``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sentinel.demo.clones import (
    Clone,
    id_maps,
    plan_clones,
    register_prefixes,
    register_region,
    relabel,
    relabel_account,
    resident_code,
)
from sentinel.io.store import CuratedStore
from sentinel.partition import (
    OWNERS_FILE,
    PERSON_ROUTED,
    assign_owners,
    global_store,
    partition_store,
    person_key,
)

__all__ = [
    "CROSS_REGION_FACTS",
    "build_province",
    "build_province_drop",
    "build_province_history",
]

DROP_DATASETS = ("beneficiaries", "payouts", "deaths", "certifications")


#: What :func:`build_province_drop` injects (with ``cross_facts=True``), for tests to find.
CROSS_REGION_FACTS = {
    "paid_in_two_regions": "the first active pensioner (by ID) of clone 0 is also registered "
    "and paid, same scheme and period, in clone 1",
    "account_across_regions": "the first active pensioner (by ID) of clone 2 is paid into "
    "the bank account of the first active pensioner of clone 3",
}


# --------------------------------------------------------------------------- drops


def _cross_region_rows(
    base: dict[str, pl.DataFrame], clones: list[Clone]
) -> dict[str, pl.DataFrame]:
    """Extra rows that make the cross-region facts of :data:`CROSS_REGION_FACTS`."""
    if len(clones) < 4:
        raise ValueError("cross-region facts need at least 4 clones")
    register, payouts = base["beneficiaries"], base["payouts"]
    counties = [c.region_code for c in clones]
    paid = payouts.filter(pl.col("kind") == "regular").select("person_id", "scheme").unique()
    candidates = (
        register.filter((pl.col("status") == "active") & pl.col("collector_id").is_null())
        .join(paid, on=["person_id", "scheme"], how="semi")
        .sort("person_id")
    )
    first, second = (
        candidates.row(0, named=True)["person_id"],
        candidates.row(1, named=True)["person_id"],
    )

    def rows(name: str, pid: str, clone: Clone) -> pl.DataFrame:
        frame = base[name].filter(pl.col("person_id") == pid).lazy()
        return relabel(frame, name, clone, counties=counties).collect()

    # Fact 1: clone 0's pensioner also on clone 1's register (clone 1's region and place).
    host = (
        relabel(register.head(1).lazy(), "beneficiaries", clones[1], counties=counties)
        .collect()
        .row(0, named=True)
    )
    twin = (
        rows("beneficiaries", first, clones[0])
        .head(1)
        .with_columns(
            pl.lit(host["region_code"]).alias("region_code"),
            pl.lit(host["township"]).alias("township"),
            pl.lit(host["village"]).alias("village"),
            relabel_account("bank_account", clones[1]),
        )
    )
    twin_paid = (
        rows("payouts", first, clones[0])
        .filter(pl.col("kind") == "regular")
        .head(1)
        .with_columns(relabel_account("bank_account", clones[1]))
    )
    # Fact 2: clone 2's pensioner paid into clone 3's account of another pensioner.
    account = rows("beneficiaries", second, clones[3])["bank_account"][0]
    return {
        "beneficiaries": twin,
        "payouts": twin_paid,
        "_account": pl.DataFrame(
            {
                "person_id": rows("beneficiaries", first, clones[2])["person_id"][:1],
                "bank_account": [account],
            }
        ),
    }


def _with_shared_account(frame: pl.LazyFrame, moved: pl.DataFrame) -> pl.LazyFrame:
    return (
        frame.join(moved.lazy().rename({"bank_account": "_moved"}), on="person_id", how="left")
        .with_columns(pl.coalesce("_moved", "bank_account").alias("bank_account"))
        .drop("_moved")
    )


def build_province_drop(
    base_month: Path, dest_month: Path, clones: list[Clone], *, cross_facts: bool = True
) -> dict[str, Path]:
    """Write the province's drop ``dest_month/<dataset>.parquet`` from one base drop folder.

    ``base_month`` is ``BASE/inbox/YYYY-MM`` of a county generated with parquet drops.
    Returns the files written.
    """
    dest_month = Path(dest_month)
    dest_month.mkdir(parents=True, exist_ok=True)
    base = {
        name: pl.read_parquet(Path(base_month) / f"{name}.parquet")
        for name in DROP_DATASETS
        if (Path(base_month) / f"{name}.parquet").exists()
    }
    extra = _cross_region_rows(base, clones) if cross_facts else {}
    maps = id_maps([frame.lazy() for frame in base.values()], clones)
    counties = [c.region_code for c in clones]
    written: dict[str, Path] = {}
    for name, frame in base.items():
        parts = [
            relabel(frame.lazy(), name, clone, maps.get(clone.index), counties) for clone in clones
        ]
        if name in extra:
            parts.append(extra[name].lazy())
        province = pl.concat(parts, how="vertical_relaxed")
        if "_account" in extra and name in ("beneficiaries", "payouts"):
            province = _with_shared_account(province, extra["_account"])
        path = dest_month / f"{name}.parquet"
        province.sink_parquet(path)
        written[name] = path
    return written


# --------------------------------------------------------------------------- history


def _owner_prefixes(base_store: CuratedStore, up_to: str) -> pl.DataFrame:
    """Base persons and the 6-digit region that owns them (:func:`assign_owners` at digits 6)."""
    register = base_store.scan("beneficiaries", up_to=up_to)
    keys = [
        base_store.scan(name, up_to=up_to).select(
            person_key(pl.col("person_id")).alias("person_id"), "month"
        )
        for name in ("payouts", "quarantined_payouts", "certifications")
        if base_store.months(name)
    ]
    owners = assign_owners(
        register, pl.concat(keys, how="vertical_relaxed"), digits=6, fallback=None
    )
    return owners.rename({"partition": "region"}).collect()


@dataclass(frozen=True)
class _ProvinceHistory:
    """How the base county's history becomes the province's: the clones (their codes and ID
    maps), and the partition each clone's rows land in by the base region owning them
    (``image``: (clone, base region prefix) to partition key; an unknown region goes to the
    first partition)."""

    clones: list[Clone]
    maps: dict[int, pl.DataFrame]
    image: dict[tuple[int, str], str]
    prefixes: list[str]
    partitions: list[str]

    @property
    def counties(self) -> list[str]:
        return [c.region_code for c in self.clones]

    def relabelled(self, frame: pl.LazyFrame, dataset: str, clone: Clone) -> pl.LazyFrame:
        return relabel(frame, dataset, clone, self.maps.get(clone.index), self.counties)

    def partition_of(self, clone: Clone) -> pl.Expr:
        """The partition of a row of ``clone``, by its base ``region``."""
        return pl.col("region").replace_strict(
            {p: self.image[(clone.index, p)] for p in self.prefixes},
            default=self.partitions[0],
            return_dtype=pl.String,
        )


def build_province_history(
    base_out: Path, dest_out: Path, clones: list[Clone], *, up_to: str, region_digits: int = 4
) -> list[str]:
    """Write the curated history of the province up to ``up_to`` in the partitioned layout.

    ``base_out`` is ``OUT`` of a base county run (its ``curated/``). Writes
    ``dest_out/partitions/<region>/curated/`` per partition (with its register up to
    ``up_to`` summarised per person), the small global datasets in
    ``dest_out/curated/`` and the owner table ``dest_out/partitions/owners.parquet``
    (see ``sentinel.partition``). Returns the partition keys.
    """
    base_store = CuratedStore(Path(base_out) / "curated")
    owners = _owner_prefixes(base_store, up_to)
    names = (*PERSON_ROUTED, "deaths", "outcomes")
    monthly = [base_store.scan(name, up_to=up_to) for name in names if base_store.months(name)]
    plan = _history_plan(owners, clones, id_maps([owners.lazy(), *monthly], clones), region_digits)
    dest_out = Path(dest_out)
    (dest_out / "partitions").mkdir(parents=True, exist_ok=True)
    owner_frames = [
        plan.relabelled(owners.lazy(), "owners", clone).select(
            "person_id", plan.partition_of(clone).alias("partition")
        )
        for clone in clones
    ]
    pl.concat(owner_frames).sink_parquet(dest_out / "partitions" / OWNERS_FILE)
    for name in names:
        for month in [m for m in base_store.months(name) if m <= up_to]:
            frame = pl.read_parquet(base_store.partition(name, month) / "part-0.parquet")
            if name not in PERSON_ROUTED:
                target = global_store(dest_out).partition(name, month)
                target.mkdir(parents=True, exist_ok=True)
                pl.concat([plan.relabelled(frame.lazy(), name, c) for c in clones]).sink_parquet(
                    target / "part-0.parquet"
                )
                continue
            _write_partitioned_month(frame, name, month, owners, plan, dest_out)
    # Each partition's register and paid ledger summarised per person, as its monthly runs
    # keep them: the next month extends these summaries instead of reading every month.
    for partition in plan.partitions:
        partition_store(dest_out, partition).summarise_register(up_to)
        partition_store(dest_out, partition).summarise_ledger(up_to)
    return plan.partitions


def _history_plan(
    owners: pl.DataFrame, clones: list[Clone], maps: dict[int, pl.DataFrame], region_digits: int
) -> _ProvinceHistory:
    """Which base region prefix lands in which partition, per clone."""
    prefixes = owners["region"].drop_nulls().unique().to_list()
    counties = [c.region_code for c in clones]
    image = {
        (clone.index, p): resident_code(p, clone, counties)[:region_digits]
        for clone in clones
        for p in prefixes
    }
    return _ProvinceHistory(clones, maps, image, prefixes, sorted(set(image.values())))


def _write_partitioned_month(
    frame: pl.DataFrame,
    name: str,
    month: str,
    owners: pl.DataFrame,
    plan: _ProvinceHistory,
    dest_out: Path,
) -> None:
    """One month of a person-routed dataset, every clone's rows in its partition's store
    (an empty part for a partition with none)."""
    keyed = frame.with_columns(person_key(pl.col("person_id")).alias("_key")).join(
        owners.rename({"person_id": "_key"}), on="_key", how="left"
    )
    # Each clone is relabelled once and tagged with its rows' partitions; the
    # month is then cut by partition (work grows with clones, not clones x parts).
    province = pl.concat(
        [
            plan.relabelled(keyed.lazy(), name, clone).with_columns(
                plan.partition_of(clone).fill_null(plan.partitions[0]).alias("_partition")
            )
            for clone in plan.clones
        ]
    ).drop("_key", "region")
    cut = province.collect().partition_by("_partition", as_dict=True)
    for partition in plan.partitions:
        rows = cut.pop((partition,), None)
        if rows is None:
            rows = province.drop("_partition").clear().collect()
        else:
            rows = rows.drop("_partition")
        target = partition_store(dest_out, partition).partition(name, month)
        target.mkdir(parents=True, exist_ok=True)
        rows.write_parquet(target / "part-0.parquet")


def build_province(
    base: Path,
    dest: Path,
    *,
    counties: int,
    month: str,
    history: bool = True,
    region_digits: int = 4,
    per_prefecture: int = 8,
    cross_facts: bool = True,
) -> list[Clone]:
    """A province of ``counties`` clones of the base county in ``base`` (a demo county with
    parquet drops; with ``history``, also ``base/out`` from running it up to the month
    before ``month``).

    Writes ``dest/inbox/<month>/`` (the new month's drop) and, with ``history``, the curated
    history before ``month`` in the partitioned layout under ``dest/out``.
    """
    base = Path(base)
    register = pl.read_parquet(base / "inbox" / month / "beneficiaries.parquet")
    clones = plan_clones(
        register_region(register),
        register_prefixes(register),
        counties,
        per_prefecture=per_prefecture,
    )
    build_province_drop(
        base / "inbox" / month, Path(dest) / "inbox" / month, clones, cross_facts=cross_facts
    )
    if history:
        earlier = [
            m for m in CuratedStore(base / "out" / "curated").months("beneficiaries") if m < month
        ]
        if earlier:
            build_province_history(
                base / "out",
                Path(dest) / "out",
                clones,
                up_to=earlier[-1],
                region_digits=region_digits,
            )
    return clones


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - thin CLI
    parser = argparse.ArgumentParser(description="Build a demo province by cloning a base county.")
    parser.add_argument(
        "--base", type=Path, required=True, help="base county (parquet drops; base/out for history)"
    )
    parser.add_argument("--dest", type=Path, required=True)
    parser.add_argument("--counties", type=int, default=106)
    parser.add_argument("--month", required=True, help="the new month YYYY-MM (its drop is built)")
    parser.add_argument("--region-digits", type=int, default=4)
    parser.add_argument("--no-history", action="store_true")
    args = parser.parse_args(argv)
    build_province(
        args.base,
        args.dest,
        counties=args.counties,
        month=args.month,
        history=not args.no_history,
        region_digits=args.region_digits,
    )


if __name__ == "__main__":  # pragma: no cover
    main()
