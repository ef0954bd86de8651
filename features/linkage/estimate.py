"""The Fellegi-Sunter parameters: u from random pairs, m by EM per blocking session (:mod:`features.linkage`)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Final

import numpy as np
import polars as pl

from features.linkage.levels import _with_levels
from features.linkage.model import Comparison, LinkModel
from features.linkage.names import _sound_key
from features.linkage.prepare import _LN2, _field_column
from sentinel.config import LinkageConfig


def _estimate(
    recs: pl.DataFrame,
    reg: pl.DataFrame,
    pairs: pl.DataFrame,
    comps: tuple[Comparison, ...],
    s: LinkageConfig,
) -> LinkModel:
    cache: dict[str, pl.DataFrame] = {}  # values shared by both sides, per column
    u = _estimate_u(recs, reg, pairs, comps, s, cache)
    starting = [_ladder(len(c.levels) + 1) for c in comps]
    register_size = max(reg["key"].n_unique(), 1)
    if register_size < s.min_register_for_estimation:
        return _reference_model(pairs, comps, u, starting, register_size, recs.height, s)
    sessions = []
    estimates: list[list[np.ndarray]] = [[] for _ in comps]
    for blocked in ("person_id", "birth_date", "name"):
        index = next((i for i, c in enumerate(comps) if c.field == blocked), None)
        if index is None:
            continue
        patterns = _session_patterns(recs, reg, comps, index, s, cache)
        if patterns is None:
            continue
        levels, counts = patterns
        active = [i for i in range(len(comps)) if i != index]
        m, share = _em(levels, counts, starting, u, active, s)
        sessions.append((blocked, int(counts.sum()), round(float(share), 6)))
        for i in active:
            reached = np.ones(len(m[i]), dtype=bool)
            reached[_unreachable(comps[i], blocked)] = False
            estimates[i].append(np.where(reached, m[i], np.nan))
    m_final = tuple(
        tuple(float(x) for x in (_pooled(found) if found else starting[i]))
        for i, found in enumerate(estimates)
    )
    model = LinkModel(
        comparisons=comps,
        m=m_final,
        u=tuple(tuple(float(x) for x in row) for row in u),
        match_share=0.5,
        register_size=max(reg["key"].n_unique(), 1),
        sessions=tuple(sessions),
    )
    return replace(model, match_share=_match_share(pairs, model, recs.height))
def _unreachable(comp: Comparison, blocked: str) -> list[int]:
    """Levels of ``comp`` that no pair of a session blocked on ``blocked`` can reach. A
    session blocked on the birth date holds only records that state one, and those have
    their ID compared outside the birth digits: the whole-ID levels are for records
    without a date. Such a session's m of them would be zero, not an estimate."""
    if blocked != "birth_date" or comp.field != "person_id":
        return []
    if not any(lv.birth_digits == "left_out" for lv in comp.levels):
        return []
    return [
        index
        for index, lv in enumerate(comp.levels)
        if lv.kind == "edits" and lv.birth_digits == "counted"
    ]
def _pooled(estimates: list[np.ndarray]) -> np.ndarray:
    """m of one comparison over the sessions that estimated it: per level, the mean of
    the sessions that could reach it (NaN elsewhere), then scaled to add up to one."""
    stacked = np.vstack(estimates)
    reached = ~np.isnan(stacked)
    mean = np.where(reached, stacked, 0.0).sum(axis=0) / np.maximum(reached.sum(axis=0), 1)
    return mean / mean.sum()
def _reference_model(
    pairs: pl.DataFrame,
    comps: tuple[Comparison, ...],
    u: list[np.ndarray],
    starting: list[np.ndarray],
    register_size: int,
    records: int,
    s: LinkageConfig,
) -> LinkModel:
    """A register too small to show how often unrelated people agree (a handful of
    people in a test, a case page's neighbours) is linked with the reference parameters
    of the configuration, estimated on a county, with that county's match share and
    register size (one record cannot show how many records have a match, nor three
    people how many could have written it); a comparison they do not cover keeps its
    EM starting point and the ``u`` these inputs give."""
    m_rows, u_rows = [], []
    for i, comp in enumerate(comps):
        size = len(comp.levels) + 1
        ref_m, ref_u = s.reference_m.get(comp.field), s.reference_u.get(comp.field)
        if ref_m and ref_u and len(ref_m) == size and len(ref_u) == size:
            m_rows.append(tuple(ref_m))
            u_rows.append(tuple(ref_u))
        else:
            m_rows.append(tuple(float(x) for x in starting[i]))
            u_rows.append(tuple(float(x) for x in u[i]))
    return LinkModel(
        comps, tuple(m_rows), tuple(u_rows), s.reference_match_share, s.reference_register_size
    )
def _ladder(size: int) -> np.ndarray:
    """EM's starting point (and prior): each level a quarter as likely for a match as the
    one above it, else the least likely."""
    ladder = np.array([4.0**-i for i in range(size)])
    return ladder / ladder.sum()
def _estimate_u(
    recs: pl.DataFrame,
    reg: pl.DataFrame,
    candidates: pl.DataFrame,
    comps: tuple[Comparison, ...],
    s: LinkageConfig,
    cache: dict[str, pl.DataFrame],
) -> list[np.ndarray]:
    """``u`` per comparison and level, from random pairs; exact levels counted over all
    pairs from value frequencies. An ID level too rare for the sample (two edits away)
    takes the share of all pairs the candidates hold at that level: the ID blocks find
    every such pair, true matches included, so the estimate errs high and the weight low
    (one pair's share when no pair is at that level). Any other level the sample never
    met gets ``1 / n``."""
    side = max(int(math.sqrt(s.u_random_pairs)), 1)
    # Order-free: the rows with the smallest key hashes, so a shuffled input samples the same.
    sample_r = _smallest_hashes(recs, "key", side)
    sample_g = _smallest_hashes(reg, "key", side)
    pairs = sample_r.rename(lambda c: f"{c}_r").join(
        sample_g.rename(lambda c: f"{c}_g"), how="cross"
    )
    levels = _with_levels(pairs, comps)
    u: list[np.ndarray] = []
    for i, comp in enumerate(comps):
        column = levels[f"lv_{i}"].drop_nulls()
        size = len(comp.levels) + 1
        counts = np.bincount(column.to_numpy(), minlength=size).astype(float)
        n = max(column.len(), 1)
        column_name = _field_column(comp)
        all_pairs = max(
            (recs.height - recs[column_name].null_count())
            * (reg.height - reg[column_name].null_count()),
            1,
        )
        found = np.bincount(candidates[f"lv_{i}"].drop_nulls().to_numpy(), minlength=size).astype(
            float
        )
        shares = np.where(counts > 0, counts / n, 1.0 / n)
        if comp.field == "person_id":
            # the ID blocks meet every pair one edit apart (and two within a window): for
            # these levels the candidates count all pairs, the sample almost none; a level
            # no pair reached takes one pair's share, the rarest all pairs can show
            shares = np.where(counts > 0, counts / n, np.maximum(found, 1.0) / all_pairs)
        if comp.levels[0].kind == "exact":
            shares[0] = _exact_share(recs, reg, _field_column(comp), shares[0], cache)
            for index, share in _sound_shares(recs, reg, comp).items():
                shares[index] = share
        # the else level takes what the others leave, so the levels add up to one
        shares[-1] = max(1.0 - shares[:-1].sum(), 1.0 / n)
        u.append(shares)
    return u
_SOUND_SAMPLE: Final = (20_000, 50_000)
"""Values read per side for the sound levels' ``u``: their key frequencies stand for all
20,000 x 50,000 pairs at once."""
def _sound_shares(recs: pl.DataFrame, reg: pl.DataFrame, comp: Comparison) -> dict[int, float]:
    """``u`` of same-sound and dialect-sound levels that follow the exact level (each key
    coarser than the one before, so a level's share is its key's agreement less the
    finer key's), from key frequencies of a sample of each side's values: as rare as
    these levels are, a pair sample would seldom meet one."""
    kinds = [lv.kind for lv in comp.levels]
    nested = []
    for index, kind in enumerate(kinds[1:3], start=1):
        if kind not in ("same_sound", "dialect_sound") or (nested and kind == nested[-1][1]):
            break
        nested.append((index, kind))
    if not nested:
        return {}
    column = _field_column(comp)

    def sample(frame: pl.DataFrame, size: int) -> pl.DataFrame:
        values = frame.select(pl.col(column).drop_nulls().alias("v"))
        return _smallest_hashes(values, "v", size)

    r, g = sample(recs, _SOUND_SAMPLE[0]), sample(reg, _SOUND_SAMPLE[1])
    if r.height == 0 or g.height == 0:
        return {}

    def agreement(key: pl.Expr) -> float:
        counts_r = r.select(key.alias("k")).group_by("k").len("nr")
        counts_g = g.select(key.alias("k")).group_by("k").len("ng")
        agree = counts_r.join(counts_g, on="k").select(
            (pl.col("nr").cast(pl.Int64) * pl.col("ng")).sum()
        )
        return float(agree.item() or 0) / (r.height * g.height)

    floor = 1.0 / (r.height * g.height)
    finer = agreement(pl.col("v"))
    shares = {}
    for index, kind in nested:
        coarser = agreement(_sound_key(pl.col("v"), dialect=kind == "dialect_sound"))
        shares[index] = max(coarser - finer, floor)
        finer = coarser
    return shares
def _smallest_hashes(frame: pl.DataFrame, column: str, size: int) -> pl.DataFrame:
    """The ``size`` rows with the smallest hashes of ``column``: a sample that does not
    depend on row order (a shuffled input samples the same rows)."""
    return (
        frame.with_columns(pl.col(column).hash(7).alias("_hash"))
        .bottom_k(size, by=["_hash", column])
        .drop("_hash")
    )
def _shared_values(
    recs: pl.DataFrame, reg: pl.DataFrame, column: str, cache: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """Per value found on both sides, how many records (``nr``) and register rows
    (``ng``) hold it. The register is only probed with the records' values: grouping a
    province's 20M IDs or names would cost more than the rest of the estimate."""
    if column not in cache:
        counts = recs.group_by(column).len("nr").drop_nulls(column)
        held = (
            reg.lazy()
            .select(column)
            .filter(pl.col(column).is_in(counts[column].implode()))
            .group_by(column)
            .len("ng")
            .collect()
        )
        cache[column] = held.join(counts, on=column).select(column, "nr", "ng")
    return cache[column]
def _exact_share(
    recs: pl.DataFrame,
    reg: pl.DataFrame,
    column: str,
    fallback: float,
    cache: dict[str, pl.DataFrame],
) -> float:
    """Share of all (non-null) record x register pairs with equal values."""
    r = recs.height - recs[column].null_count()
    g = reg.height - reg[column].null_count()
    if r == 0 or g == 0:
        return fallback
    # integer products: the sum does not depend on the order groups come in
    agree = _shared_values(recs, reg, column, cache).select(
        (pl.col("nr").cast(pl.Int64) * pl.col("ng")).sum()
    )
    return max(float(agree.item() or 0.0), 1.0) / (r * g)
def _session_patterns(
    recs: pl.DataFrame,
    reg: pl.DataFrame,
    comps: tuple[Comparison, ...],
    index: int,
    s: LinkageConfig,
    cache: dict[str, pl.DataFrame],
) -> tuple[np.ndarray, np.ndarray] | None:
    """Level patterns and their counts of the pairs agreeing exactly on comparison
    ``index``; records sampled (by key hash) down to ``em_max_pairs`` pairs."""
    column = _field_column(comps[index])
    sizes = _shared_values(recs, reg, column, cache)
    total = int((sizes["nr"].cast(pl.Int64) * sizes["ng"]).sum()) if sizes.height else 0
    if total == 0:
        return None
    fraction = min(1.0, s.em_max_pairs / total)
    sample = recs
    if fraction < 1.0:
        threshold = int(fraction * 2**32)
        sample = recs.filter((pl.col("key").hash(11) % 2**32) < threshold)
    pairs = (
        sample.drop_nulls(column)
        .rename(lambda c: f"{c}_r")
        .join(
            reg.rename(lambda c: f"{c}_g"),
            left_on=f"{column}_r",
            right_on=f"{column}_g",
            coalesce=False,
        )
    )
    if pairs.height == 0:
        return None
    levels = _with_levels(pairs, comps, skip=index)
    names = [f"lv_{i}" for i in range(len(comps))]
    grouped = levels.group_by(names).len("n").sort(names)
    matrix = grouped.select(names).fill_null(-1).to_numpy().astype(np.int64)
    return matrix, grouped["n"].to_numpy().astype(float)
def _em(
    levels: np.ndarray,
    counts: np.ndarray,
    starting: list[np.ndarray],
    u: list[np.ndarray],
    active: list[int],
    s: LinkageConfig,
) -> tuple[list[np.ndarray], float]:
    """Expectation-maximisation of ``m`` (and the match share) on level patterns, ``u``
    fixed; comparisons outside ``active`` are left out (the session blocked on them)."""
    m = [p.copy() for p in starting]
    share = 0.5
    log_u = sum(
        (np.where(levels[:, i] >= 0, np.log(u[i][levels[:, i].clip(0)]), 0.0) for i in active),
        np.zeros(len(counts)),
    )
    for _ in range(s.em_max_iterations):
        log_m = sum(
            (np.where(levels[:, i] >= 0, np.log(m[i][levels[:, i].clip(0)]), 0.0) for i in active),
            np.zeros(len(counts)),
        )
        odds = np.log(share) + log_m - np.log1p(-share) - log_u
        posterior = 1.0 / (1.0 + np.exp(-np.clip(odds, -700, 700)))
        weight = counts * posterior
        new_share = float(min(max(weight.sum() / counts.sum(), 1e-9), 1 - 1e-9))
        change = abs(new_share - share)
        for i in active:
            seen = levels[:, i] >= 0
            tally = np.bincount(levels[seen, i], weights=weight[seen], minlength=len(m[i]))
            tally = tally + s.em_prior_pairs * starting[i]
            updated = tally / tally.sum()
            change = max(change, float(np.abs(updated - m[i]).max()))
            m[i] = updated
        share = new_share
        if change < s.em_tolerance:
            break
    return m, share
def _pair_weights(pairs: pl.DataFrame, model: LinkModel) -> pl.Expr:
    weights = model.weights()
    terms = [
        pl.col(f"lv_{i}")
        .replace_strict(dict(enumerate(w)), default=0.0, return_dtype=pl.Float64)
        .fill_null(0.0)
        for i, w in enumerate(weights)
    ]
    return pl.sum_horizontal(terms) if terms else pl.lit(0.0)
def _match_share(pairs: pl.DataFrame, model: LinkModel, records: int) -> float:
    """Share of records with a match in the register: EM over the records, each either
    one of its candidates' person or nobody's (non-candidates weigh nothing)."""
    if pairs.height == 0:
        return 1e-9
    per_record = (
        (
            pairs.select("_row_r", "key_g", _pair_weights(pairs, model).alias("w"))
            .group_by("_row_r", "key_g")
            .agg(pl.col("w").max())
            .group_by("_row_r")
            .agg(_log2_sum(pl.col("w")).alias("log2_bf"))
        )["log2_bf"]
        .sort()
        .to_numpy()
    )  # sorted: float sums independent of group order
    records = max(records, per_record.size)
    size = max(model.register_size, 1)
    share = 0.5
    for _ in range(200):
        log2_odds = math.log2(share / (1 - share) / size) + per_record
        posterior = 1.0 / (1.0 + np.exp2(-np.clip(log2_odds, -1000, 1000)))
        new_share = float(min(max(posterior.sum() / records, 1e-9), 1 - 1e-9))
        if abs(new_share - share) < 1e-7:
            share = new_share
            break
        share = new_share
    return share
def _exp2(bits: pl.Expr) -> pl.Expr:
    return (bits * _LN2).exp()
def _log2_sum(w: pl.Expr) -> pl.Expr:
    """log2 of the sum of 2^w, without overflow."""
    top = w.max()
    return top + _exp2(w - top).sum().log(2)
