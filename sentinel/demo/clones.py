"""The clones of a base county that make a demo province (:mod:`sentinel.demo.province`):
their region codes, and every row of the base county as a clone has it.

Clone ``k`` gets

* region codes and the region part of every identity number moved by a per-clone digit
  offset on digits 3-6 (prefecture + county; the province digits stay), chosen so that no
  two clones share a code; clone 0 is the base county unchanged;
* birth dates shifted by ``k`` days (in the register, the death records and in ID digits
  7-14), so that namesakes of different clones differ as namesakes of one county do;
* the ID check character recomputed (a wrong check character stays exactly as wrong);
* bank accounts (digits 7-10) and death record numbers made distinct per clone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl

from features.identity import id_check_char

__all__ = [
    "Clone",
    "id_maps",
    "plan_clones",
    "register_prefixes",
    "register_region",
    "relabel",
    "relabel_account",
    "relabel_id",
    "resident_code",
]

_CHECK_CHARS = "10X98765432"


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


def register_region(register: pl.DataFrame) -> str:
    """The county's own region code: the one most of its register has (the lowest on a tie)."""
    return str(register["region_code"].mode().sort()[0])


def register_prefixes(register: pl.DataFrame) -> list[str]:
    """The 6-digit region parts of the register's IDs and its region codes (with repeats)."""
    return (
        register["person_id"].str.slice(0, 6).unique().to_list()
        + register["region_code"].unique().to_list()
    )


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


def relabel_account(column: str, clone: Clone) -> pl.Expr:
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
        exprs.append(relabel_account("bank_account", clone))
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
