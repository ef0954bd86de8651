"""Each candidate pair's level on every comparison (:mod:`features.linkage`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import OSA

from features.linkage.model import _SIMILARITIES, Comparison, Level
from features.linkage.names import _sound_key
from features.linkage.prepare import _field_column


def _with_levels(
    pairs: pl.DataFrame, comps: tuple[Comparison, ...], skip: int | None = None
) -> pl.DataFrame:
    """Add ``lv_<i>`` (Int8) per comparison: the index of the first level the pair meets,
    ``len(levels)`` for else, null when the field is empty on either side (and for the
    comparison ``skip``, which an EM session leaves out); and ``id_distance``."""
    pairs = _with_implied_birth(pairs)
    added: list[pl.Series] = []
    for i, comp in enumerate(comps):
        if i == skip:
            added.append(pl.Series(f"lv_{i}", [None] * pairs.height, dtype=pl.Int8))
            continue
        column = _field_column(comp)
        a, b = f"{column}_r", f"{column}_g"
        helpers = _level_helpers(pairs, comp, a, b)
        level = pl.when(pl.col(a).is_null() | pl.col(b).is_null()).then(None)
        for index, lv in enumerate(comp.levels):
            level = level.when(_level_condition(lv, a, b)).then(index)
        added.append(
            pairs.with_columns(list(helpers.values()))
            .select(level.otherwise(len(comp.levels)).cast(pl.Int8).alias(f"lv_{i}"))
            .to_series()
        )
    return pairs.with_columns(added) if added else pairs
def _with_implied_birth(pairs: pl.DataFrame) -> pl.DataFrame:
    """``birth_r`` as a pair compares it: the birth date the record states, else the one
    its mistyped GB 11643 ID holds when that is the register person's. The ID's edit
    levels then count edits outside the birth digits and the birth date comparison weighs
    those digits, once, with the parameters of every record that states a date (compared
    whole, the ID would be at levels only records without a birth date reach: too few for
    EM to estimate). Birth digits that differ stay the ID's: a typo there is an ID typo,
    which the whole-ID levels weigh, not a registrar's date error. Not when the two IDs are
    equal: the exact ID level has weighed the birth digits."""
    if not {"birth_r", "id_birth_r", "pid_valid_r", "pid_r", "pid_g", "birth_g"} <= set(
        pairs.columns
    ):
        return pairs
    implied = (
        pl.col("birth_r").is_null()
        & ~pl.col("pid_valid_r")
        & (pl.col("pid_r") != pl.col("pid_g")).fill_null(True)
        & (pl.col("id_birth_r") == pl.col("birth_g")).fill_null(False)
    )
    return pairs.with_columns(
        pl.when(implied).then(pl.col("id_birth_r")).otherwise(pl.col("birth_r")).alias("birth_r")
    )
def _level_helpers(pairs: pl.DataFrame, comp: Comparison, a: str, b: str) -> dict[str, pl.Series]:
    """Values a level needs that polars cannot compute alone (sounds, similarities, edits),
    computed once per unique value or unique pair of values."""
    kinds = {lv.kind for lv in comp.levels}
    helpers: dict[str, pl.Series] = {}
    differ = pairs.select(
        pl.when(pl.col(a) != pl.col(b)).then(pl.col(a)).alias("a"),
        pl.when(pl.col(a) != pl.col(b)).then(pl.col(b)).alias("b"),
    )
    for dialect, name in ((False, "_sound"), (True, "_dialect")):
        if ("dialect_sound" if dialect else "same_sound") in kinds:
            helpers[name] = _same_sound(differ, dialect=dialect)
    if "dropped_character" in kinds:
        helpers["_dropped"] = _on_some(differ, _one_character_less, _dropped_character)
    if "reordered" in kinds:
        helpers["_reordered"] = _on_some(
            differ, pl.col("a").str.contains(" ") & pl.col("b").str.contains(" "), _reordered
        )
    for measure in sorted({lv.measure for lv in comp.levels if lv.kind == "similar"}):
        helpers[f"_sim_{measure}"] = _pairwise(differ, _SIMILARITIES[measure])
    if "edits" in kinds or comp.field == "person_id":
        helpers["_edits"] = _edits(pairs, differ, a, b)
        if any(lv.birth_digits == "left_out" for lv in comp.levels):
            outside = pairs.select(
                (pl.col(c).str.slice(0, 6) + pl.col(c).str.slice(14)).alias(n)
                for c, n in ((a, "a"), (b, "b"))
            )
            differ_outside = outside.select(
                pl.when(pl.col("a") != pl.col("b")).then(pl.col(n)).alias(n) for n in ("a", "b")
            )
            helpers["_edits_outside"] = _edits(outside, differ_outside, "a", "b")

    if "within_days" in kinds:
        days = pairs.select(
            (
                pl.col(a).str.to_date("%Y%m%d", strict=False)
                - pl.col(b).str.to_date("%Y%m%d", strict=False)
            )
            .dt.total_days()
            .abs()
        ).to_series()
        helpers["_days"] = days
    return {k: v.alias(k) for k, v in helpers.items()}
_one_character_less: Final = (
    (pl.col("a").str.len_chars().cast(pl.Int32) - pl.col("b").str.len_chars().cast(pl.Int32)).abs()
    == 1
) & (pl.max_horizontal(pl.col("a").str.len_chars(), pl.col("b").str.len_chars()) >= 3)
def _dropped_character() -> pl.Expr:
    x, y = pl.col("a"), pl.col("b")
    x_shorter = x.str.len_chars() < y.str.len_chars()
    shorter = pl.when(x_shorter).then(x).otherwise(y)
    longer = pl.when(x_shorter).then(y).otherwise(x)
    return pl.any_horizontal(
        [longer.str.slice(0, i) + longer.str.slice(i + 1) == shorter for i in range(1, 8)]
    )
def _reordered() -> pl.Expr:
    def words(col: str) -> pl.Expr:
        return pl.col(col).str.split(" ").list.sort().list.join(" ")

    return words("a") == words("b")
def _on_some(differ: pl.DataFrame, applies: pl.Expr, condition: Callable[[], pl.Expr]) -> pl.Series:
    """``condition`` evaluated only on the rows where it ``applies`` (false elsewhere):
    polars would evaluate every branch of a ``when`` on every row."""
    some = differ.with_row_index("_i").filter(applies.fill_null(False))
    result = pl.Series([False] * differ.height, dtype=pl.Boolean)
    if some.height:
        result = result.scatter(some["_i"], some.select(condition().fill_null(False)).to_series())
    return result
def _same_sound(differ: pl.DataFrame, *, dialect: bool) -> pl.Series:
    """Whether the two values sound the same, keys computed once per unique value."""
    values = pl.concat([differ["a"], differ["b"]]).drop_nulls().unique()
    if values.len() == 0:
        return pl.Series([False] * differ.height, dtype=pl.Boolean)
    keys = values.to_frame("v").select("v", _sound_key(pl.col("v"), dialect=dialect).alias("k"))
    a = differ["a"].replace_strict(keys["v"], keys["k"], default=None)
    b = differ["b"].replace_strict(keys["v"], keys["k"], default=None)
    return (a == b).fill_null(False)
def _edits(pairs: pl.DataFrame, differ: pl.DataFrame, a: str, b: str) -> pl.Series:
    """Edits between the two values (optimal string alignment: an adjacent swap counts
    one), 0 when equal, null when either is empty."""
    edits = _pairwise(differ, OSA.distance).cast(pl.Int32)
    return (
        pl.DataFrame({"e": edits, "same": pairs[a] == pairs[b]})
        .select(pl.when(pl.col("same")).then(0).otherwise(pl.col("e")))
        .to_series()
        .cast(pl.Int32)
    )
def _pairwise(differ: pl.DataFrame, scorer: Callable[..., float]) -> pl.Series:
    """``scorer(a, b)`` per row (null where either is null or they are equal), by
    rapidfuzz's vectorised ``cpdist`` (cheaper than finding the unique pairs first)."""
    present = differ.with_row_index("_i").drop_nulls()
    scores = pl.Series("score", [None] * differ.height, dtype=pl.Float64)
    if present.height:
        values = process.cpdist(
            present["a"].to_list(), present["b"].to_list(), scorer=scorer, workers=-1
        )
        scores = scores.scatter(present["_i"], pl.Series(values, dtype=pl.Float64))
    return scores
def _level_condition(lv: Level, a: str, b: str) -> pl.Expr:
    x, y = pl.col(a), pl.col(b)
    if lv.kind == "exact":
        return x == y
    if lv.kind == "same_sound":
        return pl.col("_sound")
    if lv.kind == "dialect_sound":
        return pl.col("_dialect")
    if lv.kind == "reordered":
        return pl.col("_reordered")
    if lv.kind == "dropped_character":
        return pl.col("_dropped")
    if lv.kind == "similar":
        return pl.col(f"_sim_{lv.measure}") >= lv.at_least
    if lv.kind == "edits":
        if lv.birth_digits == "left_out":
            within = (pl.col("_edits_outside") <= lv.edits) & pl.col("birth_r").is_not_null()
        else:
            within = pl.col("_edits") <= lv.edits

        if lv.checksum == "fails":
            within &= ~pl.col("pid_valid_r")
        elif lv.checksum == "valid":
            within &= pl.col("pid_valid_r")
        return within
    if lv.kind == "day_month_swapped":
        return (
            (x.str.slice(0, 4) == y.str.slice(0, 4))
            & (x.str.slice(4, 2) == y.str.slice(6, 2))
            & (x.str.slice(6, 2) == y.str.slice(4, 2))
            & (x != y)
        )
    if lv.kind == "within_days":
        return pl.col("_days") <= lv.days
    raise ValueError(f"unknown level kind {lv.kind!r}")
