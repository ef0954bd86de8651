"""Which risk model scores a month: the unsupervised scorer, or a supervised model trained
on the audit outcomes received so far.

Models are versioned folders under ``OUT/models/<version>/`` (joblib file + model card).
The version is derived from the outcomes that trained it, so re-running a month reuses the
same model and gives the same cases.
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

from sentinel.config import SentinelConfig

UNSUPERVISED_VERSION = "unsupervised-rule-blend-v1"


@dataclass(frozen=True)
class ModelChoice:
    """The model used for a month: its version (named in the manifest) and folder."""

    version: str
    directory: Path | None

    def load(self) -> Any | None:
        """The fitted supervised model, or None for the unsupervised scorer."""
        if self.directory is None:
            return None
        from models.persistence import load_model

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


def choose_risk_model(
    history: Any,
    models_dir: Path,
    config: SentinelConfig,
    *,
    features: pl.LazyFrame | None = None,
) -> ModelChoice:
    """Train (once) or reuse the supervised model when enough outcomes exist.

    Labels come from ``history.outcomes`` (confirmed_* = 1, cleared = 0, unreachable left
    out). Held-out metrics: the model is first fitted on outcomes closed before the latest
    outcome month and scored on that month; the saved model is then fitted on all of them.
    ``features``: the persons' features as of ``history.month`` (``person_id`` and
    ``FEATURE_COLUMNS``) when already computed elsewhere (a partitioned run's partitions);
    by default :func:`sentinel.detection.person_features` of ``history``. Only the labelled
    persons' rows are collected.
    """
    from models.supervised import outcome_labels

    outcomes = history.outcomes.filter(pl.col("month") <= history.month)
    labels = outcome_labels(outcomes).collect().sort("person_id")
    counts = labels["label"].value_counts() if labels.height else None
    enough = (
        labels.height >= config.model.min_training_outcomes
        and counts is not None
        and counts.height == 2
        and int(counts["count"].min()) >= config.model.min_class_outcomes
    )
    if not enough:
        return ModelChoice(version=UNSUPERVISED_VERSION, directory=None)
    digest = hashlib.sha256(labels.write_csv().encode("utf-8")).hexdigest()[:10]
    version = f"supervised-{history.month}-{digest}"
    directory = Path(models_dir) / version
    if not directory.exists():
        if features is None:
            from sentinel.detection import person_features

            features = person_features(history, config)
        labelled = features.join(labels.lazy().select("person_id"), on="person_id", how="semi")
        _train_and_save(labelled.collect(), outcomes, directory)
    return ModelChoice(version=version, directory=directory)


def _train_and_save(features: pl.DataFrame, outcomes: pl.LazyFrame, directory: Path) -> None:
    """Fit on every labelled person's ``features`` and save (with held-out metrics)."""
    from models.persistence import save_model
    from models.supervised import outcome_labels
    from sentinel.detection import fit_risk_model

    months = sorted(outcomes.select(pl.col("month").unique()).collect()["month"].to_list())
    metrics: dict[str, float] = {}
    if len(months) >= 2:
        metrics = _held_out_metrics(features, outcomes, months[-1])
    model = fit_risk_model(features, outcome_labels(outcomes).collect())
    staging = directory.parent / f".tmp-{directory.name}-{uuid.uuid4().hex}"
    try:
        save_model(
            model,
            staging,
            training_months=months,
            metrics=metrics,
            notes="features as of the month trained; labels from field-audit outcomes",
        )
        staging.rename(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _held_out_metrics(
    features: pl.DataFrame, outcomes: pl.LazyFrame, held_out_month: str
) -> dict[str, float]:
    """Fit on outcomes before ``held_out_month``, score that month's outcomes."""
    from models.supervised import outcome_labels
    from sentinel.detection import feature_matrix, fit_risk_model

    earlier = outcome_labels(outcomes.filter(pl.col("month") < held_out_month)).collect()
    try:
        model = fit_risk_model(features, earlier)
    except ValueError:
        return {}
    held = outcome_labels(outcomes.filter(pl.col("month") == held_out_month)).collect()
    test = features.join(held, on="person_id", how="inner").sort("person_id")
    if test.height == 0:
        return {}
    p = np.asarray(model.predict_proba(feature_matrix(test)))[:, 1]
    y = test["label"].to_numpy()
    flagged = p >= 0.5
    metrics = {
        "held_out_month": float(held_out_month.replace("-", "")),
        "held_out_outcomes": float(len(y)),
        "precision_at_0.5": float(y[flagged].mean()) if flagged.any() else float("nan"),
        "recall_at_0.5": float(flagged[y == 1].mean()) if (y == 1).any() else float("nan"),
    }
    if len(set(y.tolist())) == 2:
        from sklearn.metrics import roc_auc_score

        metrics["roc_auc"] = float(roc_auc_score(y, p))
    return metrics
