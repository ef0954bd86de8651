"""Which candidate a record links to, and how sure (:mod:`features.linkage`)."""

from __future__ import annotations

import polars as pl

from features.linkage.estimate import _exp2, _log2_sum, _pair_weights
from features.linkage.levels import _edits
from features.linkage.model import Comparison, LinkModel
from sentinel.config import LinkageConfig


def _decide(
    pairs: pl.DataFrame, model: LinkModel, s: LinkageConfig, min_confidence: float
) -> pl.DataFrame:
    """Each record's link: its best-weighted candidate when no other ties it, it holds at
    least ``ambiguity_share`` of the record's candidates' weight and its confidence is at
    least ``min_confidence``; with the match weight, the link method and the fields that
    agreed and disagreed."""
    prior = model.prior_log2_odds
    labels, against = _agreements(model)
    scored = (
        pairs.with_columns(_pair_weights(pairs, model).alias("w"))
        # one register person may have several rows (one per scheme): keep its best
        # (windows, not a sort of every candidate)
        .filter(pl.col("w") == pl.col("w").max().over("_row_r", "key_g"))
        .filter(pl.col("_row_g") == pl.col("_row_g").min().over("_row_r", "key_g"))
        .with_columns(_log2_sum(pl.col("w")).over("_row_r").alias("_log2_sum"))
    )
    share = _exp2(pl.col("w") - pl.col("_log2_sum"))
    confidence = 1.0 / (
        _exp2(-(pl.lit(prior) + pl.col("w"))) + _exp2(pl.col("_log2_sum") - pl.col("w"))
    )
    best = (
        scored.filter(pl.col("w") == pl.col("w").max().over("_row_r"))
        .with_columns(
            share.alias("_share"),
            confidence.alias("confidence"),
            (1.0 / (1.0 + _exp2(-(pl.lit(prior) + pl.col("w"))))).alias("match_probability"),
        )
        .filter(
            (pl.col("_share") >= s.ambiguity_share)
            & (pl.col("confidence") >= min_confidence)
            & (pl.len().over("_row_r") == 1)
        )
    )
    ids = best.select(
        pl.when(pl.col("pid_r") != pl.col("pid_g")).then(pl.col(c)).alias(n)
        for c, n in (("pid_r", "a"), ("pid_g", "b"))
    )
    best = best.with_columns(_edits(best, ids, "pid_r", "pid_g").alias("id_distance"))
    return best.select(
        pl.col("key_r").alias("record_key"),
        pl.col("key_g").alias("register_key"),
        pl.col("confidence").round(6),
        pl.col("match_probability").round(6),
        pl.col("w").round(3).alias("match_weight"),
        _link_method(model.comparisons).alias("method"),
        pl.concat_list(labels).list.drop_nulls().alias("agreed")
        if labels
        else pl.lit([], dtype=pl.List(pl.String)).alias("agreed"),
        pl.concat_list(against).list.drop_nulls().alias("disagreed")
        if against
        else pl.lit([], dtype=pl.List(pl.String)).alias("disagreed"),
        "id_distance",
    ).sort("record_key")


def _agreements(model: LinkModel) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """Per comparison, the label of a level that speaks for the link (null otherwise), and
    the field's name where its level speaks against it (null otherwise)."""
    weights = model.weights()
    labels = []
    against = []
    for i, comp in enumerate(model.comparisons):
        name = comp.field
        level = pl.col(f"lv_{i}")
        for_link = {
            index: lv.label(name) for index, lv in enumerate(comp.levels) if weights[i][index] > 0
        }
        labels.append(level.replace_strict(for_link, default=None, return_dtype=pl.String))
        negative = [index for index, w in enumerate(weights[i]) if w < 0]
        against.append(pl.when(level.is_in(negative)).then(pl.lit(name)))
    return labels, against


def _link_method(comps: tuple[Comparison, ...]) -> pl.Expr:
    """How a pair was linked: ``exact_id``, ``id_typo``, ``name_only`` (the record holds
    neither ID nor birth date) or ``demographic``."""
    id_index = next((i for i, c in enumerate(comps) if c.field == "person_id"), None)
    if id_index is not None:
        id_level = pl.col(f"lv_{id_index}")
        id_kinds = [lv.kind for lv in comps[id_index].levels]
        method = (
            pl.when(id_level == 0)
            .then(pl.lit("exact_id"))
            .when(id_level.is_in([i for i, k in enumerate(id_kinds) if k == "edits"]))
            .then(pl.lit("id_typo"))
        )
    else:
        method = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String))
    return (
        method.when(
            pl.col("pid_r").is_null() & pl.col("birth_r").is_null() & pl.col("id_birth_r").is_null()
        )
        .then(pl.lit("name_only"))
        .otherwise(pl.lit("demographic"))
    )
