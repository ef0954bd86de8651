"""A demo province: one generated base county cloned N times under other region codes.

A province has ~20M pensioners in ~106 counties; generating that many people is slow, so
the province is built by *relabelling* one base county (``sentinel demo --formats parquet``)
N times. Clone ``k`` gets

* region codes and the region part of every identity number moved by a per-clone digit
  offset on digits 3-6 (prefecture + county; the province digits stay), chosen so that no
  two clones share a code; clone 0 is the base county unchanged;
* birth dates shifted by ``k`` days (in the register, the death records and in ID digits
  7-14), so that namesakes of different clones differ as namesakes of one county do;
* the ID check character recomputed (a wrong check character stays exactly as wrong);
* bank accounts (digits 7-10) and death record numbers made distinct per clone.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from features.identity import id_check_char
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
    "Clone",
    "build_province",
    "build_province_drop",
    "build_province_history",
    "plan_clones",
    "relabel",
    "resident_code",
]

_CHECK_CHARS = "10X98765432"
DROP_DATASETS = ("beneficiaries", "payouts", "deaths", "certifications")

#: What :func:`build_province_drop` injects (with ``cross_facts=True``), for tests to find.
CROSS_REGION_FACTS = {
    "paid_in_two_regions": "the first active pensioner (by ID) of clone 0 is also registered "
    "and paid, same scheme and period, in clone 1",
    "account_across_regions": "the first active pensioner (by ID) of clone 2 is paid into "
    "the bank account of the first active pensioner of clone 3",
}


@dataclass(frozen=True)
class Clone:
    """One relabelled copy of the base county.

    ``region_delta``: digit-wise offset (mod 10) added to digits 3-6 of region codes and ID
    region parts; ``birth_shift_days``: days added to every birth date; ``index`` also
    offsets digits 7-10 of bank accounts and tags death record numbers.
    """

    index: int
    region_code: str
    region_delta: str
    birth_shift_days: int


def _digit_sub(a: str, b: str) -> str:
    return "".join(str((int(x) - int(y)) % 10) for x, y in zip(a, b, strict=True))


def _digit_add(a: str, b: str) -> str:
    return "".join(str((int(x) + int(y)) % 10) for x, y in zip(a, b, strict=True))


def plan_clones(
    base_region: str, base_prefixes: Iterable[str], counties: int, *, per_prefecture: int = 8
) -> list[Clone]:
    """Region codes for ``counties`` clones of a county whose own code is ``base_region``.

    ``base_prefixes`` are the 6-digit region parts of the base county's register IDs (its
    own code and its migrants'). Codes are taken prefecture by prefecture (at most
    ``per_prefecture`` counties each) so that the images of the base prefixes of two clones
    never meet: no identity number can occur in two clones.
    """
    tails = sorted(
        {p[2:6] for p in base_prefixes if len(p) >= 6 and p[:6].isdigit()} | {base_region[2:6]}
    )
    base_tail = base_region[2:6]
    clones = [Clone(0, base_region, "0000", 0)]
    taken = {_digit_add(t, "0000") for t in tails}
    per_pref: dict[str, int] = {base_tail[:2]: 1}
    for prefecture in range(1, 100):
        pref = f"{prefecture:02d}"
        for county in range(1, 100):
            if len(clones) >= counties:
                return clones
            if per_pref.get(pref, 0) >= per_prefecture:
                break
            tail = f"{pref}{county:02d}"
            delta = _digit_sub(tail, base_tail)
            images = {_digit_add(t, delta) for t in tails}
            if images & taken:
                continue
            taken |= images
            per_pref[pref] = per_pref.get(pref, 0) + 1
            k = len(clones)
            clones.append(Clone(k, base_region[:2] + tail, delta, k))
    if len(clones) < counties:
        raise ValueError(f"cannot place {counties} clones without colliding codes")
    return clones


# --------------------------------------------------------------------------- relabelling


def _add_digits(text: pl.Expr, delta: str) -> pl.Expr:
    """Digit-wise ``text + delta`` (mod 10) of a digit string as long as ``delta``."""
    if set(delta) == {"0"}:
        return text
    return pl.concat_str(
        [
            ((text.str.slice(i, 1).cast(pl.Int32, strict=False) + int(d)) % 10).cast(pl.String)
            for i, d in enumerate(delta)
        ]
    )


def _region(code: pl.Expr, clone: Clone) -> pl.Expr:
    """A 6-digit region code (or the region part of an ID) moved to the clone's area."""
    return (
        pl.when(code.str.contains(r"^[0-9]{6}"))
        .then(
            code.str.slice(0, 2)
            + _add_digits(code.str.slice(2, 4), clone.region_delta)
            + code.str.slice(6)
        )
        .otherwise(code)
    )


def resident_code(code: str, clone: Clone, counties: Sequence[str]) -> str:
    """A 6-digit ``region_code`` of the base register as clone ``clone`` has it.

    ``counties``: every clone's own code, clone 0 (the base county) first. The base
    county's code becomes the clone's; a neighbouring county's code (persons the county
    pays who are registered there) becomes another clone's code, picked from the code
    itself, so that the province has one region per county as a real one has - not a
    region per clone and neighbour that no county covers.
    """
    n = len(counties)
    if n == 1 or code == counties[0]:
        return clone.region_code
    return counties[(clone.index + 1 + int(code) % (n - 1)) % n]


def _resident_region(code: pl.Expr, clone: Clone, counties: Sequence[str]) -> pl.Expr:
    """:func:`resident_code` on a column (codes that are not 6 digits are left as they are)."""
    n = len(counties)
    head = code.str.slice(0, 6)
    if n == 1:
        other: pl.Expr = pl.lit(clone.region_code)
    else:
        other = (
            (clone.index + 1 + head.cast(pl.Int64, strict=False) % (n - 1)) % n
        ).replace_strict(list(range(n)), list(counties), return_dtype=pl.String)
    moved = (
        pl.when(head == counties[0])
        .then(pl.lit(clone.region_code))
        .when(head.str.contains(r"^[0-9]{6}$"))
        .then(other)
    )
    return pl.when(moved.is_not_null()).then(moved + code.str.slice(6)).otherwise(code)


def _check_index(char: pl.Expr) -> pl.Expr:
    return char.replace_strict(
        list(_CHECK_CHARS), list(range(11)), default=None, return_dtype=pl.Int32
    )


def relabel_id(column: str, clone: Clone) -> pl.Expr:
    """An identity number of the base county as clone ``clone`` has it.

    Region part moved, birth digits shifted by ``birth_shift_days``, and the check character
    recomputed so that a valid ID stays valid and a wrong check character stays exactly as
    wrong (same MOD 11-2 offset). Text that is not an ID is left as it is, except its first
    six characters when they are digits.
    """
    text = pl.col(column)
    if clone.index == 0:
        return text
    upper = text.str.to_uppercase()
    well_formed = upper.str.contains(r"^[0-9]{17}[0-9X]$")
    birth = upper.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    shifted = (birth + pl.duration(days=clone.birth_shift_days)).dt.strftime("%Y%m%d")
    body = (
        _region(upper.str.slice(0, 6), clone)
        + shifted.fill_null(upper.str.slice(6, 8))
        + upper.str.slice(14, 3)
    )
    offset = _check_index(upper.str.slice(17, 1)) - _check_index(id_check_char(upper))
    check_index = (_check_index(id_check_char(body)) + offset) % 11
    check = check_index.replace_strict(
        list(range(11)), list(_CHECK_CHARS), default=None, return_dtype=pl.String
    )
    return pl.when(well_formed).then(body + check).otherwise(_region(text, clone)).alias(column)


def _relabel_account(column: str, clone: Clone) -> pl.Expr:
    text = pl.col(column)
    if clone.index == 0:
        return text
    digits = text.str.contains(r"^[0-9]{10,}$")
    moved = (
        text.str.slice(0, 6)
        + _add_digits(text.str.slice(6, 4), f"{clone.index:04d}")
        + text.str.slice(10)
    )
    return pl.when(digits).then(moved).otherwise(text).alias(column)


_ID_COLUMNS = ("person_id", "collector_id")


def id_maps(frames: Iterable[pl.LazyFrame], clones: list[Clone]) -> dict[int, pl.DataFrame]:
    """``_base`` → ``_clone`` identity text per clone, for every ID text in ``frames``.

    Relabelling a column by joining this map costs far less than recomputing the check
    character on every row of every month (a person appears in 12 register snapshots, 12
    ledgers, ...): each distinct ID is relabelled once per clone.
    """
    values = (
        pl.concat(
            [
                frame.select(pl.col(column).cast(pl.String).alias("_base"))
                for frame in frames
                for column in _ID_COLUMNS
                if column in frame.collect_schema()
            ]
        )
        .drop_nulls()
        .unique()
        .collect()
    )
    return {
        clone.index: values.select("_base", relabel_id("_base", clone).alias("_clone"))
        for clone in clones
        if clone.index
    }


def relabel(
    frame: pl.LazyFrame,
    dataset: str,
    clone: Clone,
    ids: pl.DataFrame | None = None,
    counties: Sequence[str] | None = None,
) -> pl.LazyFrame:
    """Rows of ``dataset`` (a drop file or a curated partition) as clone ``clone`` has them.

    ``ids``: this clone's :func:`id_maps` entry covering every ID in ``frame`` (faster);
    without it, IDs are relabelled by :func:`relabel_id`. ``counties``: every clone's code
    (clone 0 first); with it, ``region_code`` follows :func:`resident_code`, else the
    region part of the code moves as an ID's does.
    """
    names = frame.collect_schema()
    if clone.index == 0:
        if counties is None or "region_code" not in names:
            return frame
        return frame.with_columns(
            _resident_region(pl.col("region_code"), clone, counties).alias("region_code")
        )
    exprs: list[pl.Expr] = []
    for column in _ID_COLUMNS:
        if column not in names:
            continue
        if ids is None:
            exprs.append(relabel_id(column, clone))
            continue
        new = f"_{column}_relabelled"
        frame = frame.join(
            ids.lazy().rename({"_base": column, "_clone": new}),
            on=column,
            how="left",
            maintain_order="left",
        )
        exprs.append(pl.col(new).alias(column))
    if "bank_account" in names:
        exprs.append(_relabel_account("bank_account", clone))
    if "region_code" in names:
        region = (
            _region(pl.col("region_code"), clone)
            if counties is None
            else _resident_region(pl.col("region_code"), clone, counties)
        )
        exprs.append(region.alias("region_code"))
    if "birth_date" in names and names["birth_date"] == pl.Date:
        exprs.append(pl.col("birth_date") + pl.duration(days=clone.birth_shift_days))
    if dataset == "deaths" and "record_id" in names:
        exprs.append(pl.col("record_id") + pl.lit(f"-{clone.index:03d}"))
    if dataset == "outcomes" and "case_id" in names:
        exprs.append(pl.col("case_id") + pl.lit(f"-{clone.index:03d}"))
    relabelled = [f"_{c}_relabelled" for c in _ID_COLUMNS if c in names]
    return frame.with_columns(exprs).drop(relabelled if ids is not None else [])


# --------------------------------------------------------------------------- drops


def _base_region(register: pl.DataFrame) -> str:
    return str(register["region_code"].mode().sort()[0])


def _register_prefixes(register: pl.DataFrame) -> list[str]:
    return (
        register["person_id"].str.slice(0, 6).unique().to_list()
        + register["region_code"].unique().to_list()
    )


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
            _relabel_account("bank_account", clones[1]),
        )
    )
    twin_paid = (
        rows("payouts", first, clones[0])
        .filter(pl.col("kind") == "regular")
        .head(1)
        .with_columns(_relabel_account("bank_account", clones[1]))
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
    # Which base region prefix lands in which partition, per clone.
    prefixes = owners["region"].drop_nulls().unique().to_list()
    counties = [c.region_code for c in clones]
    image = {
        (clone.index, p): resident_code(p, clone, counties)[:region_digits]
        for clone in clones
        for p in prefixes
    }
    partitions = sorted(set(image.values()))
    fallback = partitions[0]
    dest_out = Path(dest_out)
    (dest_out / "partitions").mkdir(parents=True, exist_ok=True)
    monthly = [
        base_store.scan(name, up_to=up_to)
        for name in (*PERSON_ROUTED, "deaths", "outcomes")
        if base_store.months(name)
    ]
    maps = id_maps([owners.lazy(), *monthly], clones)
    owner_frames = [
        relabel(owners.lazy(), "owners", clone, maps.get(clone.index), counties).select(
            "person_id",
            pl.col("region")
            .replace_strict(
                {p: image[(clone.index, p)] for p in prefixes},
                default=fallback,
                return_dtype=pl.String,
            )
            .alias("partition"),
        )
        for clone in clones
    ]
    pl.concat(owner_frames).sink_parquet(dest_out / "partitions" / OWNERS_FILE)
    for name in (*PERSON_ROUTED, "deaths", "outcomes"):
        for month in [m for m in base_store.months(name) if m <= up_to]:
            frame = pl.read_parquet(base_store.partition(name, month) / "part-0.parquet")
            if name not in PERSON_ROUTED:
                target = global_store(dest_out).partition(name, month)
                target.mkdir(parents=True, exist_ok=True)
                pl.concat(
                    [relabel(frame.lazy(), name, c, maps.get(c.index), counties) for c in clones]
                ).sink_parquet(target / "part-0.parquet")
                continue
            keyed = frame.with_columns(person_key(pl.col("person_id")).alias("_key")).join(
                owners.rename({"person_id": "_key"}), on="_key", how="left"
            )
            # Each clone is relabelled once and tagged with its rows' partitions; the
            # month is then cut by partition (work grows with clones, not clones x parts).
            province = pl.concat(
                [
                    relabel(
                        keyed.lazy(), name, clone, maps.get(clone.index), counties
                    ).with_columns(
                        pl.col("region")
                        .replace_strict(
                            {p: image[(clone.index, p)] for p in prefixes},
                            default=fallback,
                            return_dtype=pl.String,
                        )
                        .fill_null(fallback)
                        .alias("_partition")
                    )
                    for clone in clones
                ]
            ).drop("_key", "region")
            cut = province.collect().partition_by("_partition", as_dict=True)
            for partition in partitions:
                rows = cut.pop((partition,), None)
                if rows is None:
                    rows = province.drop("_partition").clear().collect()
                else:
                    rows = rows.drop("_partition")
                target = partition_store(dest_out, partition).partition(name, month)
                target.mkdir(parents=True, exist_ok=True)
                rows.write_parquet(target / "part-0.parquet")
    # Each partition's register and paid ledger summarised per person, as its monthly runs
    # keep them: the next month extends these summaries instead of reading every month.
    for partition in partitions:
        partition_store(dest_out, partition).summarise_register(up_to)
        partition_store(dest_out, partition).summarise_ledger(up_to)
    return partitions


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
        _base_region(register),
        _register_prefixes(register),
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
