"""Detection: from a month's typed history to a ranked list of cases for field audit.

Public API
----------
:class:`MonthHistory`
    the typed history the ingest layer builds for the month scored.
:func:`detect_cases`
    case rows (``CASE_COLUMNS`` without ``status``/``first_flagged``), ranked by expected
    recoverable yuan = probability × amount at stake.
:func:`rule_reasons`
    every reason row of the six rule families (for notebooks and tests).
:func:`person_features`
    the per-person feature frame the risk models read (``features.cases.FEATURE_COLUMNS``).
:func:`train_risk_model`
    a calibrated classifier fitted on audit outcomes received so far.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np
import polars as pl

from features.cases import (
    FEATURE_COLUMNS,
    date_month_index,
    empty_reasons,
    merge_reasons,
    month_number,
)
from features.history import register_runs, runs_up_to
from features.ledger import ledger_runs, ledger_runs_up_to
from features.network import receiver_changes, receiver_edges, shared_account
from features.payments import (
    PAYOUT_KIND,
    amount_anomaly,
    duplicate_receipt,
    identity_anomaly,
    ledger_keys,
    monthly_amount,
    months_paid,
    paid_ledger,
)
from features.survival import (
    deceased_paid,
    link_deaths,
    linked_deaths,
    register_people,
    survival_evidence,
    suspected_unreported_death,
)
from models.base import RiskModel
from sentinel.config import SentinelConfig
from sentinel.contract import CASE_COLUMNS, TYPOLOGIES
from sentinel.evidence import render_evidence

DETECTED_COLUMNS: tuple[str, ...] = tuple(
    c for c in CASE_COLUMNS if c not in ("status", "first_flagged")
)
_TYPOLOGY_PREFIX = {
    "deceased_paid": "DP",
    "suspected_unreported_death": "SD",
    "duplicate_receipt": "DR",
    "shared_account": "SA",
    "amount_anomaly": "AA",
    "identity_anomaly": "IA",
}


@dataclass(frozen=True)
class MonthHistory:
    """Everything known at the end of ``month`` (typed, see ``sentinel.contract``).

    Every frame carries ``month``: the drop (``YYYY-MM``) that delivered the row.
    ``quarantined_payouts`` holds payout rows that were not loaded, all columns as raw text
    plus ``_reason``; they were still paid unless the reason is ``duplicate row``.
    """

    month: str
    register: pl.LazyFrame
    payouts: pl.LazyFrame
    quarantined_payouts: pl.LazyFrame
    deaths: pl.LazyFrame
    certifications: pl.LazyFrame
    outcomes: pl.LazyFrame
    #: The register summarised per person (:func:`features.history.register_runs`) when the
    #: store keeps it; None to summarise ``register`` here. Detection reads only this.
    register_runs: pl.LazyFrame | None = None
    #: The paid ledger summarised per person (:func:`features.ledger.ledger_runs` of
    #: :func:`features.payments.paid_ledger`) when the store keeps it; None to summarise
    #: ``payouts`` and ``quarantined_payouts`` here. Detection reads only this.
    ledger_runs: pl.LazyFrame | None = None


@dataclass(frozen=True)
class _Prepared:
    """Intermediate frames shared by the rule families (collected once per run)."""

    month: str
    people: pl.LazyFrame
    #: The paid ledger as runs (:mod:`features.ledger`) with :func:`ledger_keys` columns.
    ledger: pl.LazyFrame
    runs: pl.LazyFrame
    evidence: pl.LazyFrame
    changes: pl.LazyFrame
    deaths_linked: pl.LazyFrame
    edges: pl.LazyFrame
    death_leads: pl.LazyFrame


#: A stage clock: ``clock("linkage")`` is a context manager wrapped around one stage of
#: detection (``benchmarks/detection_bench.py`` times them; detection itself does not).
StageClock = Callable[[str], AbstractContextManager[object]]


def _no_clock(stage: str) -> AbstractContextManager[object]:
    del stage
    return nullcontext()


def _upto(frame: pl.LazyFrame, month: str) -> pl.LazyFrame:
    return frame.filter(pl.col("month") <= month)


def month_register_runs(history: MonthHistory) -> pl.LazyFrame:
    """The register runs up to ``history.month``: the stored summary when the history has
    one, else summarised from the snapshots (the same rows either way)."""
    if history.register_runs is not None:
        return runs_up_to(history.register_runs, history.month)
    # register_runs reads only the columns a run keeps (not the flags and region codes).
    return register_runs(_upto(history.register, history.month))


def month_ledger_runs(history: MonthHistory) -> pl.LazyFrame:
    """The paid ledger up to ``history.month`` as runs (:mod:`features.ledger`), with the
    columns of :func:`features.payments.ledger_keys`: the stored summary when the history
    has one, else summarised from the payouts (the same rows either way)."""
    month = history.month
    if history.ledger_runs is not None:
        runs = ledger_runs_up_to(history.ledger_runs, month)
    else:
        rows = paid_ledger(_upto(history.payouts, month), _upto(history.quarantined_payouts, month))
        runs = ledger_runs(rows.filter(pl.col("drop_index") <= month_number(month)))
    return runs.with_columns(pl.col("kind").cast(PAYOUT_KIND)).with_columns(ledger_keys())


def _prepare(
    history: MonthHistory,
    config: SentinelConfig,
    clock: StageClock = _no_clock,
    *,
    links: pl.LazyFrame | None = None,
) -> _Prepared:
    """The shared frames; ``links`` (:func:`link_deaths` output) when the death linkage was
    done elsewhere, over a larger register (a partitioned run links against the province)."""
    month = history.month
    with clock("prepare: register"):
        # One chunk: the partitioned run appends its halo persons' runs (many small chunks).
        runs = month_register_runs(history).collect().rechunk().lazy()
        people = register_people(runs).collect().lazy()
    with clock("prepare: ledger"):
        ledger = month_ledger_runs(history).collect().lazy()
    with clock("prepare: evidence"):
        evidence = (
            survival_evidence(_upto(history.certifications, month), people, month, config)
            .collect()
            .lazy()
        )
    with clock("prepare: receivers"):
        # Independent plans over the same frames: collected together, they run side by side.
        changes, edges = (
            frame.lazy()
            for frame in pl.collect_all(
                [
                    receiver_changes(runs, ledger),
                    receiver_edges(runs, ledger, month, config),
                ]
            )
        )
    with clock("linkage"):
        deaths = _upto(history.deaths, month)
        if links is None:
            links = link_deaths(deaths, people)
        links = links.collect().lazy()
        deaths_linked, death_leads = (
            frame.lazy()
            for frame in pl.collect_all(
                [
                    linked_deaths(deaths, people, config, links=links),
                    linked_deaths(deaths, people, config, links=links, name_only=True),
                ]
            )
        )
    return _Prepared(
        month, people, ledger, runs, evidence, changes, deaths_linked, edges, death_leads
    )


def _rule_reasons(
    prep: _Prepared, config: SentinelConfig, clock: StageClock = _no_clock
) -> pl.LazyFrame:
    month = prep.month
    with clock("deceased_paid"):
        dead = deceased_paid(
            prep.ledger, prep.deaths_linked, prep.evidence, config, prep.people, month
        ).collect()
    with clock("suspected_unreported_death"):
        suspected = suspected_unreported_death(
            prep.ledger,
            prep.people,
            prep.evidence,
            prep.changes,
            prep.deaths_linked,
            month,
            config,
            leads=prep.death_leads,
        ).collect()
    # How dead each person probably is, for the ring rule: a linked record counts fully.
    p_dead = (
        pl.concat(
            [
                prep.deaths_linked.select("person_id", pl.col("confidence").alias("p_dead")),
                suspected.lazy()
                .group_by("person_id")
                .agg(pl.col("probability").max().alias("p_dead")),
            ]
        )
        .group_by("person_id")
        .agg(pl.col("p_dead").max())
    )
    with clock("duplicate_receipt"):
        duplicate = duplicate_receipt(prep.ledger, config).collect()
    with clock("shared_account"):
        shared = shared_account(
            prep.runs,
            prep.ledger,
            prep.people,
            p_dead,
            month,
            config,
            edges=prep.edges,
            evidence=prep.evidence,
        ).collect()
    with clock("amount_anomaly"):
        amount = amount_anomaly(prep.ledger, prep.runs, config).collect()
    with clock("identity_anomaly"):
        identity = identity_anomaly(prep.ledger, prep.people, month, config).collect()
    parts = [dead, suspected, duplicate, shared, amount, identity]
    return pl.concat([empty_reasons(), *[part.lazy() for part in parts]])


def rule_reasons(history: MonthHistory, config: SentinelConfig) -> pl.LazyFrame:
    """All reason rows (``features.cases.REASON_SCHEMA``) of the six rule families."""
    return _rule_reasons(_prepare(history, config), config)


def _person_features(prep: _Prepared, merged: pl.LazyFrame, config: SentinelConfig) -> pl.LazyFrame:
    now = month_number(prep.month)
    paid = monthly_amount(prep.ledger, prep.month)
    months = months_paid(prep.ledger)
    persons = pl.concat(
        [prep.people.select("person_id"), merged.select("person_id")], how="vertical"
    ).unique()
    edges = prep.edges
    sizes = edges.group_by("receiver", "kind").agg(pl.col("person_id").n_unique().alias("size"))
    per_person_sizes = (
        edges.join(sizes, on=["receiver", "kind"])
        .group_by("person_id")
        .agg(
            pl.col("size")
            .filter(pl.col("kind") == "account")
            .max()
            .fill_null(0)
            .alias("account_people"),
            pl.col("size")
            .filter(pl.col("kind") == "collector")
            .max()
            .fill_null(0)
            .alias("collector_people"),
            pl.col("size").max().alias("component_size"),
        )
    )
    scheme_code = (
        pl.when(pl.col("scheme") == "enterprise")
        .then(1)
        .when(pl.col("scheme") == "institution")
        .then(2)
        .otherwise(0)
    )
    feats = (
        persons.join(prep.people, on="person_id", how="left")
        .join(paid, on="person_id", how="left")
        .join(months, on="person_id", how="left")
        .join(prep.evidence.drop("birth_date", "benefit_start"), on="person_id", how="left")
        .join(prep.changes, on="person_id", how="left")
        .join(per_person_sizes, on="person_id", how="left")
        .join(merged.drop("typology"), on="person_id", how="left")
        .with_columns(
            ((pl.lit(now) - date_month_index(pl.col("birth_date"))) / 12.0).alias("age"),
            scheme_code.alias("scheme_code"),
            (pl.lit(now) - pl.col("pass_index")).alias("months_since_pass"),
            (pl.lit(now) - pl.col("strong_index")).alias("months_since_strong_evidence"),
            pl.col("fails_since_pass").fill_null(0).alias("failed_certs_since_pass"),
            (pl.col("pass_method") == "face_app")
            .fill_null(False)
            .cast(pl.Int8)
            .alias("last_pass_face_app"),
            (pl.col("account_change_index") > pl.col("strong_index"))
            .fill_null(False)
            .cast(pl.Int8)
            .alias("account_changed_after_evidence"),
            (pl.col("collector_change_index") > pl.col("strong_index"))
            .fill_null(False)
            .cast(pl.Int8)
            .alias("collector_after_evidence"),
            pl.col("collector_id").is_not_null().cast(pl.Int8).alias("has_collector"),
            (pl.lit(now) - pl.col("last_paid_index")).alias("months_since_paid"),
        )
        .with_columns(
            *[pl.col(f"p_{t}").fill_null(0.0) for t in TYPOLOGIES],
            pl.col("rule_probability").fill_null(0.0),
            pl.col("est_overpayment").fill_null(0.0),
            pl.col("account_people").fill_null(0),
            pl.col("collector_people").fill_null(0),
            pl.col("component_size").fill_null(0),
            pl.col("months_paid").fill_null(0),
            pl.col("monthly_amount").fill_null(0.0),
        )
    )
    return feats


def person_features(history: MonthHistory, config: SentinelConfig) -> pl.LazyFrame:
    """One row per person (register persons and unregistered payees) with model features.

    Columns: ``person_id``, every name in ``features.cases.FEATURE_COLUMNS`` (numeric; nulls
    where a timeline is missing, e.g. never certified), plus context (``name``, ``scheme``,
    ``township``, ``village``, ``last_paid_index``, ``reasons``, ``reason_facts``).
    """
    prep = _prepare(history, config)
    merged = merge_reasons(_rule_reasons(prep, config))
    return _person_features(prep, merged, config)


def feature_matrix(features: pl.DataFrame) -> np.ndarray:
    """The model input: ``FEATURE_COLUMNS`` as a float matrix, missing values as NaN."""
    return features.select([pl.col(c).cast(pl.Float64) for c in FEATURE_COLUMNS]).to_numpy()


def case_id(person_id: str, typology: str) -> str:
    """Deterministic case identifier: typology prefix + first 12 hex of sha256(person|typology)."""
    digest = hashlib.sha256(f"{person_id}|{typology}".encode()).hexdigest()[:12]
    return f"{_TYPOLOGY_PREFIX.get(typology, 'XX')}-{digest}"


#: Persons the unsupervised scorer is fitted on (a seeded sample of this many, by person_id).
TRAINING_SAMPLE_SIZE = 20_000


def training_sample(features: pl.DataFrame) -> pl.DataFrame:
    """The rows the unsupervised scorer is fitted on: ``person_id`` and ``FEATURE_COLUMNS``
    of a seeded sample of :data:`TRAINING_SAMPLE_SIZE` persons (all when fewer).

    A fixed row order (by ``person_id``) and seed make the anomaly score, and so the
    ranking, repeatable; the sampled positions depend only on the number of persons
    (a partitioned run picks the same persons from its partitions).
    """
    sample = features.select("person_id", *FEATURE_COLUMNS).sort("person_id")
    if sample.height > TRAINING_SAMPLE_SIZE:
        sample = sample.sample(TRAINING_SAMPLE_SIZE, seed=0)
    return sample


def _case_probability(
    sample: pl.DataFrame, candidates: pl.DataFrame, model: RiskModel | None, config: SentinelConfig
) -> np.ndarray:
    rule_p = candidates["rule_probability"].to_numpy()
    if model is None:
        from models.unsupervised import RuleBlendScorer

        scorer = RuleBlendScorer(anomaly_weight=config.detection.anomaly_weight, random_state=0)
        scorer.fit(feature_matrix(sample))
        return scorer.predict_proba(feature_matrix(candidates))[:, 1]
    p = np.asarray(model.predict_proba(feature_matrix(candidates)))[:, 1]
    # Near-certain proof (a linked death with payments after it, a duplicate payment, a ghost
    # identity) keeps its probability whatever a model learned from few outcomes.
    proof = np.maximum.reduce(
        [
            candidates[f"p_{t}"].to_numpy()
            for t in ("deceased_paid", "duplicate_receipt", "identity_anomaly")
        ]
    )
    return np.where(proof >= 0.9, np.maximum(p, rule_p), p)


def detect_cases(
    history: MonthHistory, config: SentinelConfig, model: RiskModel | None = None
) -> pl.LazyFrame:
    """Cases for ``history.month``: one row per person, ranked for field audit.

    Columns ``DETECTED_COLUMNS`` (``CASE_COLUMNS`` without ``status`` and ``first_flagged``)
    plus ``reason_codes`` (list), ``amount_at_stake`` and ``expected_recovery`` (yuan).

    ``risk_score`` is the probability that the person's payments are improper: the rule
    families' own probability blended with an anomaly score when ``model`` is None, or the
    supervised model's calibrated probability (floored by near-certain rule proof).
    ``est_overpayment`` is yuan already overpaid; ``amount_at_stake`` adds
    ``detection.forward_months`` of the current monthly amount when payments continue.
    ``priority_rank`` orders by probability × amount at stake, ties by ``person_id``.
    """
    return _detect(history, config, model, _no_clock)


def _detect(
    history: MonthHistory, config: SentinelConfig, model: RiskModel | None, clock: StageClock
) -> pl.LazyFrame:
    prep = _prepare(history, config, clock)
    reasons = _rule_reasons(prep, config, clock)
    with clock("merge"):
        merged = merge_reasons(reasons).collect()
    with clock("features"):
        features = _person_features(prep, merged.lazy(), config).collect()
        candidates = features.join(
            merged.select("person_id", "typology"), on="person_id", how="inner"
        ).sort("person_id")
    return rank_candidates(
        candidates, lambda: training_sample(features), model, history.month, config, clock
    )


def rank_candidates(
    candidates: pl.DataFrame,
    sample: Callable[[], pl.DataFrame],
    model: RiskModel | None,
    month: str,
    config: SentinelConfig,
    clock: StageClock = _no_clock,
) -> pl.LazyFrame:
    """The ranked cases of :func:`detect_cases` from the candidate persons' features
    (one row per person with a reason, sorted by ``person_id``) and, for the unsupervised
    scorer, a function returning its :func:`training_sample`."""
    if candidates.height == 0:
        return pl.LazyFrame(
            schema={
                **{c: pl.String for c in DETECTED_COLUMNS},
                "priority_rank": pl.Int64,
                "risk_score": pl.Float64,
                "est_overpayment": pl.Float64,
                "reason_codes": pl.List(pl.String),
                "amount_at_stake": pl.Float64,
                "expected_recovery": pl.Float64,
            }
        ).select(*DETECTED_COLUMNS, "reason_codes", "amount_at_stake", "expected_recovery")
    with clock("model"):
        probability = _case_probability(
            sample() if model is None else candidates, candidates, model, config
        )
    with clock("evidence"):
        return _ranked_cases(candidates, probability, month, config).collect().lazy()


def _ranked_cases(
    candidates: pl.DataFrame, probability: np.ndarray, month: str, config: SentinelConfig
) -> pl.LazyFrame:
    now = month_number(month)
    still_paid = (pl.col("last_paid_index") >= now).fill_null(False)
    ranked = (
        candidates.with_columns(pl.Series("risk_score", probability).clip(0.0, 1.0).round(6))
        .with_columns(
            (
                pl.col("est_overpayment")
                + pl.when(still_paid)
                .then(pl.col("monthly_amount") * config.detection.forward_months)
                .otherwise(0.0)
            ).alias("amount_at_stake")
        )
        # Rounded to fen before ranking: float sums taken in another row order must not
        # reorder cases (ties are then broken by person_id).
        .with_columns(
            (pl.col("risk_score") * pl.col("amount_at_stake")).round(2).alias("expected_recovery")
        )
        .sort(["expected_recovery", "person_id"], descending=[True, False])
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("priority_rank"))
    )
    # sha256 in Python, but only for the few hundred final cases (no per-row work on the county).
    ranked = ranked.with_columns(
        pl.Series(
            "case_id",
            [case_id(p, t) for p, t in zip(ranked["person_id"], ranked["typology"], strict=True)],
            dtype=pl.String,
        ),
        pl.col("reasons").list.unique(maintain_order=True).list.join(",").alias("reason_text"),
        pl.col("reasons").list.unique(maintain_order=True).alias("reason_codes"),
    )
    with_evidence = render_evidence(ranked.lazy(), config.detection.report_language)
    return with_evidence.select(
        "case_id",
        "person_id",
        "name",
        "scheme",
        "township",
        "village",
        "typology",
        "priority_rank",
        "risk_score",
        pl.col("est_overpayment").round(2),
        "evidence",
        pl.col("reason_text").alias("reasons"),
        "reason_codes",
        pl.col("amount_at_stake").round(2),
        pl.col("expected_recovery").round(2),
    ).sort("priority_rank")


def train_risk_model(history: MonthHistory, config: SentinelConfig):  # type: ignore[no-untyped-def]
    """Fit :class:`models.supervised.CalibratedRiskClassifier` on the audit outcomes so far.

    Labels: ``confirmed_*`` = 1, ``cleared`` = 0, ``unreachable`` left out; features are the
    persons' features as of ``history.month``. Raises ``ValueError`` when the outcomes hold
    only one class.
    """
    from models.supervised import outcome_labels

    labels = outcome_labels(_upto(history.outcomes, history.month)).collect()
    return fit_risk_model(person_features(history, config).collect(), labels)


def fit_risk_model(features: pl.DataFrame, labels: pl.DataFrame):  # type: ignore[no-untyped-def]
    """:class:`models.supervised.CalibratedRiskClassifier` fitted on the persons of
    ``labels`` (``person_id``, ``label``) with their rows of ``features`` (at least
    ``person_id`` and ``FEATURE_COLUMNS``), in ``person_id`` order so that the fit does not
    depend on where the features were computed (one process or many partitions)."""
    from models.supervised import CalibratedRiskClassifier

    train = features.join(labels, on="person_id", how="inner").sort("person_id")
    model = CalibratedRiskClassifier(random_state=0)
    return model.fit(feature_matrix(train), train["label"].to_numpy())


__all__ = [
    "DETECTED_COLUMNS",
    "MonthHistory",
    "case_id",
    "detect_cases",
    "feature_matrix",
    "fit_risk_model",
    "person_features",
    "rule_reasons",
    "train_risk_model",
]
