"""Candidate pairs: blocking rules that keep the candidates of each record bounded (:mod:`features.linkage`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Final

import polars as pl

from features.linkage.model import Comparison, LinkColumns
from features.linkage.names import _sound_key, _sound_keys, _surname_sound_batch
from features.linkage.prepare import _field_column
from sentinel.config import LinkageConfig

_GB_WINDOWS: Final = ((0, 5), (4, 9), (8, 12), (11, 15), (14, 18))
def _candidates(
    recs: pl.DataFrame,
    reg: pl.DataFrame,
    cols: LinkColumns,
    comps: tuple[Comparison, ...],
    blocking: Sequence[Sequence[str]],
    s: LinkageConfig,
) -> pl.DataFrame:
    """Candidate pairs ``_row_r, _row_g`` with both sides' prepared columns (suffixes
    ``_r`` / ``_g``), each pair once."""
    fields = {c.field for c in comps}
    blocks: list[pl.LazyFrame] = []
    r, g = recs.lazy(), reg.lazy()
    if "person_id" in fields:
        blocks.append(_join(r, g, pl.col("pid"), pl.col("pid")))
        blocks.extend(_id_window_blocks(recs, reg, cols.id_format, s.max_id_edits))
    # Without an ID the record must be found by what else it says; with a checksum-valid
    # ID that is not in the register its holder is most likely somebody not enrolled.
    searchable = r.filter(~pl.col("pid_trusted"))
    birth = pl.coalesce("birth", "id_birth")
    if "name" in fields:
        named = searchable.filter(pl.col("name").is_not_null())
        reg_named = g.filter(pl.col("name").is_not_null())
        # each distinct register name once, for the blocks that compute names' sounds
        reg_names = reg.select(pl.col("name").drop_nulls().unique()).lazy()
        if "birth_date" in fields:
            for first in (True, False):
                char = pl.col("name").str.slice(0 if first else -1, 1)
                blocks.append(_join(named, reg_named, [birth, char], [pl.col("birth"), char]))
            for part in ((0, 4), (4, 4)):
                date_part = pl.col("birth").str.slice(*part)
                blocks.append(
                    _join(
                        named,
                        reg_named,
                        [pl.col("name"), birth.str.slice(*part)],
                        [pl.col("name"), date_part],
                        max_block=s.max_block_size,
                    )
                )
            days = max(
                (lv.days or 0 for c in comps if c.field == "birth_date" for lv in c.levels),
                default=0,
            )
            blocks.extend(_sound_date_blocks(named, reg_named, reg_names, birth, days, s))
        blocks.append(_name_only_block(named, reg_named, reg_names, s))
    for rule in blocking:
        exprs = [pl.col(_field_column(_comparison_of(f, comps))) for f in rule]
        blocks.append(_join(searchable, g, exprs, exprs, max_block=s.max_block_size))
    pairs = (
        pl.concat(blocks).unique().collect()
        if blocks
        else pl.DataFrame(schema={"_row_r": pl.UInt32, "_row_g": pl.UInt32})
    )
    # ``_row`` is each side's row number: its rows are gathered, not joined by hash
    return pl.concat(
        [
            recs.gather(pairs["_row_r"]).rename(lambda c: f"{c}_r"),
            reg.gather(pairs["_row_g"]).rename(lambda c: f"{c}_g"),
        ],
        how="horizontal",
    )
def _comparison_of(name: str, comps: tuple[Comparison, ...]) -> Comparison:
    for comp in comps:
        if comp.field == name:
            return comp
    raise ValueError(f"blocking on {name!r}: no comparison of that field")
def _join(
    r: pl.LazyFrame,
    g: pl.LazyFrame,
    r_keys: pl.Expr | list[pl.Expr],
    g_keys: pl.Expr | list[pl.Expr],
    *,
    max_block: int | None = None,
) -> pl.LazyFrame:
    r_keys = r_keys if isinstance(r_keys, list) else [r_keys]
    g_keys = g_keys if isinstance(g_keys, list) else [g_keys]
    names = [f"_k{i}" for i in range(len(r_keys))]
    left = r.select(
        pl.col("_row").alias("_row_r"), *[k.alias(n) for k, n in zip(r_keys, names, strict=True)]
    )
    right = g.select(
        pl.col("_row").alias("_row_g"), *[k.alias(n) for k, n in zip(g_keys, names, strict=True)]
    )
    left = left.drop_nulls(names)
    right = right.drop_nulls(names).join(left.select(names).unique(), on=names, how="semi")
    if max_block is not None:
        # counted only for the keys the records ask for, not over the whole register
        small = right.group_by(names).len().filter(pl.col("len") <= max_block).drop("len")
        right = right.join(small, on=names, how="semi")
    return left.join(right, on=names).select("_row_r", "_row_g")
def _id_window_blocks(
    recs: pl.DataFrame, reg: pl.DataFrame, id_format: str, max_edits: int
) -> list[pl.LazyFrame]:
    """Register people whose ID agrees with the record's outside one window of characters
    and differs inside it by at most ``max_edits`` (an adjacent swap counting one). For
    GB 11643 numbers only records whose ID fails its checksum are searched: a valid ID that
    is not the register's is somebody else's (the else level), and its neighbours born
    the same day would be most of the candidates."""
    if id_format == "gb11643":
        # The ID as integers once per side (a province's register: 20M IDs), not per window.
        r = recs.lazy().filter(pl.col("pid").is_not_null() & ~pl.col("pid_valid"))
        g = reg.lazy().filter(pl.col("pid").is_not_null())
        r, g = (side.select("_row", "pid", *_id_numbers()) for side in (r, g))
        g = g.cache()
        keys = [(_id_without(a, b), _id_without(a, b), a, b - a) for a, b in _GB_WINDOWS]
    else:
        lengths = recs["pid"].drop_nulls().str.len_chars()
        length = int(lengths.mode().min()) if lengths.len() else 0  # type: ignore[arg-type]
        if length < 4:
            return []
        count = 5 if length >= 10 else 3
        width = math.ceil((length + count - 1) / count)
        starts = [round(i * (length - width) / (count - 1)) for i in range(count)]
        pid = pl.col("pid")
        r, g = (side.lazy().filter(pid.is_not_null()).select("_row", "pid") for side in (recs, reg))
        keys = [
            (pid.str.slice(0, a) + "|" + pid.str.slice(a + width),) * 2 + (a, width) for a in starts
        ]
    return [
        r.with_columns(key_r.alias("_k"))
        .join(g.with_columns(key_g.alias("_k")), on="_k", suffix="_g")
        .filter(
            _window_edits(
                pl.col("pid").str.slice(start, width),
                pl.col("pid_g").str.slice(start, width),
                width,
            )
            <= max_edits
        )
        .select(pl.col("_row").alias("_row_r"), "_row_g")
        for key_r, key_g, start, width in keys
    ]
def _window_edits(a: pl.Expr, b: pl.Expr, width: int) -> pl.Expr:
    """Differing characters of two short windows, an adjacent swap counting one."""
    a_chars = [a.str.slice(i, 1) for i in range(width)]
    b_chars = [b.str.slice(i, 1) for i in range(width)]
    hamming = pl.sum_horizontal(
        [(x != y).fill_null(True).cast(pl.Int32) for x, y in zip(a_chars, b_chars, strict=True)]
    )
    swapped = pl.any_horizontal(
        [
            (a_chars[i] != b_chars[i])
            & (a_chars[i] == b_chars[i + 1])
            & (a_chars[i + 1] == b_chars[i])
            for i in range(width - 1)
        ]
    ).fill_null(False)
    return pl.when((hamming == 2) & swapped).then(1).otherwise(hamming)
def _id_numbers() -> list[pl.Expr]:
    pid = pl.col("pid")
    return [
        pid.str.slice(0, 17).cast(pl.Int64).alias("_body"),
        pid.str.slice(17, 1).replace("X", "10").cast(pl.Int64).alias("_check"),
    ]
def _id_without(start: int, end: int) -> pl.Expr:
    """The ID (from :func:`_id_numbers`) with characters ``[start, end)`` removed, as one
    integer: hashing and joining integers is several times cheaper than strings. The 17
    digits fit an Int64; the check character (``X`` = 10) is the last base-11 digit
    unless the window removes it. Distinct remainders give distinct integers."""
    body = pl.col("_body")
    kept = body // 10 ** (17 - start)
    if end <= 17:
        kept = (kept * 10 ** (17 - end) + body % 10 ** (17 - end)) * 11 + pl.col("_check")
    return kept
def _sound_date_blocks(
    named: pl.LazyFrame,
    reg_named: pl.LazyFrame,
    reg_names: pl.LazyFrame,
    birth: pl.Expr,
    days: int,
    s: LinkageConfig,
) -> list[pl.LazyFrame]:
    """Records whose name no register person bears (misheard or misspelt) and that state
    a birth date: register people whose name sounds the same (homophones: 莉/丽, 中/忠)
    and whose birth date shares the record's month and day (a mistyped year) or year (a
    mistyped day or month), the year taken ``days`` either side (the largest difference
    the birth date levels weigh: a date moved 49 days may cross New Year). A name typo
    and a date typo together meet no exact block. Blocks larger than ``max_block_size``
    are skipped."""
    # a name some register person bears is searched by the exact blocks
    asked = (
        named.filter(birth.is_not_null())
        .join(reg_names, on="name", how="anti")
        .select(
            pl.col("_row").alias("_row_r"),
            _sound_key(pl.col("name"), dialect=False).alias("sound"),
            birth.str.slice(0, 4).alias("year"),
            birth.str.slice(4, 4).alias("month_day"),
        )
    )
    sounds = reg_names.with_columns(_sound_key(pl.col("name"), dialect=False).alias("sound")).join(
        asked.select("sound").unique(), on="sound", how="semi"
    )
    people = (
        reg_named.select(pl.col("_row").alias("_row_g"), "name", "birth")
        .join(sounds, on="name")
        .drop_nulls("birth")
        .select(
            "_row_g",
            "sound",
            pl.col("birth").str.slice(0, 4).alias("year"),
            pl.col("birth").str.slice(4, 4).alias("month_day"),
        )
    )
    # A date within ``days`` of New Year has the other year in reach as well: from the
    # month and day ``days - 1`` before the year's end, up to the one ``days - 1`` after
    # its start (a leap day, only a superset).
    next_year_from = (date(2001, 12, 31) - timedelta(days=days - 1)).strftime("%m%d")
    last_year_to = (date(2001, 1, 1) + timedelta(days=days - 1)).strftime("%m%d")
    year = pl.col("year").cast(pl.Int32)
    by_year = pl.concat(
        [people.select("_row_g", "sound", "year")]
        + [
            people.filter(pl.col("month_day") >= next_year_from).select(
                "_row_g", "sound", (year + 1).cast(pl.String).alias("year")
            ),
            people.filter(pl.col("month_day") <= last_year_to).select(
                "_row_g", "sound", (year - 1).cast(pl.String).alias("year")
            ),
        ]
        * (days > 0)
    )
    by_month_day = people.select("_row_g", "sound", "month_day")
    blocks = []
    for register_keys, key in ((by_year, "year"), (by_month_day, "month_day")):
        # block sizes counted for the keys records ask for, not over every register person
        wanted = register_keys.join(
            asked.select("sound", key).unique(), on=["sound", key], how="semi"
        ).filter(pl.len().over("sound", key) <= s.max_block_size)
        blocks.append(asked.join(wanted, on=["sound", key]).select("_row_r", "_row_g"))
    return blocks
def _name_only_block(
    named: pl.LazyFrame, reg_named: pl.LazyFrame, reg_names: pl.LazyFrame, s: LinkageConfig
) -> pl.LazyFrame:
    """Records with a name and nothing else (no usable ID, no birth date): register people
    whose name sounds the same, or the same with one non-first character dropped (clerks
    drop characters, they do not invent them). Sounds are computed only for register names
    whose surname sound and length a record asks for."""
    usable = named.filter(pl.col("birth").is_null() & pl.col("id_birth").is_null()).with_columns(
        _sound_keys(pl.col("name"), dialect=True).alias("sounds")
    )
    wanted = (
        usable.select(
            pl.col("sounds").list.first().alias("surname_sound"),
            (pl.col("sounds").list.len() + pl.int_ranges(0, 2, dtype=pl.UInt32)).alias("length"),
        )
        .explode("length")
        .unique()
    )
    names = (
        reg_names.with_columns(pl.col("name").str.len_chars().alias("length"))
        .join(wanted.select("length").unique(), on="length", how="semi")
        .with_columns(
            pl.col("name")
            .str.slice(0, 1)
            .map_batches(_surname_sound_batch, return_dtype=pl.String, is_elementwise=True)
            .alias("surname_sound")
        )
        .join(wanted, on=["surname_sound", "length"], how="semi")
        .with_columns(_sound_keys(pl.col("name"), dialect=True).alias("sounds"))
    )
    whole = names.select("name", pl.col("sounds").list.join(" ").alias("sound_key"))
    dropped = (
        names.filter(pl.col("length") >= 3)
        .with_columns(pl.int_ranges(1, pl.col("length")).alias("at"))
        .explode("at")
        .select(
            "name",
            pl.concat_list(
                pl.col("sounds").list.slice(0, pl.col("at")),
                pl.col("sounds").list.slice(pl.col("at") + 1),
            )
            .list.join(" ")
            .alias("sound_key"),
        )
    )
    asked = usable.select(
        pl.col("_row").alias("_row_r"), pl.col("sounds").list.join(" ").alias("sound_key")
    )
    # block sizes counted for the sounds records ask for, not over every register name
    keys = (
        pl.concat([whole, dropped])
        .join(asked.select("sound_key").unique(), on="sound_key", how="semi")
        .unique()
    )
    register_rows = reg_named.select(pl.col("_row").alias("_row_g"), "name").join(keys, on="name")
    register_rows = register_rows.filter(pl.len().over("sound_key") <= s.max_block_size)
    return asked.join(register_rows, on="sound_key").select("_row_r", "_row_g")
