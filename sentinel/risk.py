"""Which risk model scores a month: the rules as they are, or the rules corrected by what
the field audits found so far (:class:`models.outcomes.PriorOffsetLogisticRegression`).

An audited case teaches the model what its evidence was worth *when the auditors saw it*:
each outcome is joined to the person's model inputs of the latest month detection raised
them up to the audit's month (``OUT/YYYY-MM/model_inputs.parquet``), and weighted by the
inverse of the probability that the case was selected for a visit (priority visits 1,
exploration draws more; :mod:`sentinel.selection`), so the few random visits below the cut
speak for all the cases like them.

Models are versioned folders under ``OUT/models/<version>/`` (joblib file + model card).
The version is derived from the training rows, so re-running a month reuses the same model
and gives the same cases.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from features.cases import MODEL_FEATURES
from models.persistence import load_model, save_model
from sentinel.config import SentinelConfig
from sentinel.detection import fit_risk_model, training_matrix

#: The version named in the manifest while no outcome has corrected the rules.
RULES_VERSION = "rules-v2"
POSITIVE_OUTCOMES = ("confirmed_deceased", "confirmed_improper")
NEGATIVE_OUTCOMES = ("cleared",)


@dataclass(frozen=True)
class ModelChoice:
    """The model used for a month: its version (named in the manifest) and folder."""

    version: str
    directory: Path | None

    def load(self) -> Any | None:
        """The fitted model, or None for the rules alone."""
        if self.directory is None:
            return None
        return load_model(self.directory)


def audited_outcomes(cases: pl.DataFrame) -> pl.LazyFrame:
    """Outcomes recorded in the case store (e.g. imported from auditors' workbooks) in the
    outcomes contract's columns, ``month`` being the month each case was closed."""
    closed = cases.filter(pl.col("outcome").is_not_null() & pl.col("closed_on").is_not_null())
    return closed.select(
        "case_id",
        "person_id",
        "closed_on",
        "outcome",
        "death_date",
        "overpaid_amount",
        "recovered_amount",
        pl.col("closed_on").dt.strftime("%Y-%m").alias("month"),
    ).lazy()


def outcome_labels(outcomes: pl.LazyFrame) -> pl.LazyFrame:
    """``person_id, label, closed_month`` from audit outcomes: confirmed_* = 1, cleared = 0.

    ``unreachable`` says nothing about the payment and is left out. A person audited more
    than once keeps the latest outcome.
    """
    return (
        outcomes.filter(pl.col("outcome").is_in([*POSITIVE_OUTCOMES, *NEGATIVE_OUTCOMES]))
        .sort("closed_on", "outcome")
        .group_by("person_id")
        .agg(pl.col("outcome").last(), pl.col("closed_on").last())
        .select(
            "person_id",
            pl.col("outcome").is_in(POSITIVE_OUTCOMES).cast(pl.Int8).alias("label"),
            pl.col("closed_on").dt.strftime("%Y-%m").alias("closed_month"),
        )
    )


def training_rows(
    labels: pl.LazyFrame,
    model_inputs: pl.LazyFrame,
    selections: pl.LazyFrame,
    max_weight: float,
) -> pl.DataFrame:
    """One row per labelled person: the model inputs of the latest month detection raised
    the person up to the audit's month, the ``label`` and an inverse-propensity ``weight``.

    ``model_inputs``: ``person_id, month`` and :data:`features.cases.MODEL_FEATURES` of every
    case detected in every month (listed or not); ``selections``: ``person_id, month,
    selection_probability`` of the cases chosen for a visit (absent: 1). Weights are
    ``1 / probability`` clipped to ``[1, max_weight]``. Sorted by ``person_id``.

    A reason code added by an upgrade is absent from the months kept before it: it did not
    fire then, so its indicator is 0 in them.
    """
    kept = set(model_inputs.collect_schema().names())
    model_inputs = model_inputs.with_columns(
        pl.lit(0.0).alias(f) for f in MODEL_FEATURES if f not in kept and f.startswith("reason:")
    )
    listed = (
        labels.join(model_inputs, on="person_id", how="inner")
        .filter(pl.col("month") <= pl.col("closed_month"))
        .sort("person_id", "month")
        .group_by("person_id", maintain_order=True)
        .last()
    )
    return (
        listed.join(selections, on=["person_id", "month"], how="left")
        .with_columns(
            (1.0 / pl.col("selection_probability").fill_null(1.0).clip(lower_bound=1e-9))
            .clip(1.0, max_weight)
            .alias("weight")
        )
        .select("person_id", "month", "label", "weight", *MODEL_FEATURES)
        .sort("person_id")
        .collect()
    )


def choose_risk_model(
    train: pl.DataFrame, models_dir: Path, month: str, config: SentinelConfig
) -> ModelChoice:
    """The rules alone, or the rules corrected by ``train`` (:func:`training_rows`).

    The model is fitted once per set of training rows and saved under
    ``models_dir/learned-<month>-<digest>``; its card holds metrics on the latest audit
    month's outcomes for a model fitted on the earlier ones.
    """
    if train.height < config.model.min_training_outcomes:
        return ModelChoice(version=RULES_VERSION, directory=None)
    digest = hashlib.sha256(train.write_csv().encode("utf-8")).hexdigest()[:10]
    version = f"learned-{month}-{digest}"
    directory = Path(models_dir) / version
    if not directory.exists():
        _train_and_save(train, directory, config)
    return ModelChoice(version=version, directory=directory)


def _train_and_save(train: pl.DataFrame, directory: Path, config: SentinelConfig) -> None:
    months = sorted(train["month"].unique().to_list())
    metrics = _held_out_metrics(train, config)
    model = fit_risk_model(train, config.model.prior_strength)
    staging = directory.parent / f".tmp-{directory.name}-{uuid.uuid4().hex}"
    try:
        save_model(
            model,
            staging,
            training_months=months,
            metrics=metrics,
            notes=(
                "rules' probability as offset, corrected by field-audit outcomes; inputs "
                "as listed before each audit, inverse-propensity weights"
            ),
        )
        staging.rename(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _held_out_metrics(train: pl.DataFrame, config: SentinelConfig) -> dict[str, float]:
    """Fit on the cases listed before the latest listing month, score that month's."""
    latest = train["month"].max()
    earlier, held = train.filter(pl.col("month") < latest), train.filter(pl.col("month") == latest)
    if earlier.height == 0 or held.height == 0:
        return {}
    model = fit_risk_model(earlier, config.model.prior_strength)
    p = np.asarray(model.predict_proba(training_matrix(held)))[:, 1]
    prior = held["rule_probability"].to_numpy()
    y = held["label"].to_numpy()

    def log_loss(q: np.ndarray) -> float:
        q = np.clip(q, 1e-6, 1 - 1e-6)
        return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))

    return {
        "held_out_outcomes": float(len(y)),
        "held_out_improper_share": float(y.mean()),
        "log_loss_rules": log_loss(prior),
        "log_loss_learned": log_loss(p),
    }
