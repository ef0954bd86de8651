"""What the learned model reads of a scored candidate, and how it is fitted on audit
outcomes."""

from __future__ import annotations

import numpy as np
import polars as pl

from features.cases import MODEL_FEATURES, model_features
from models.outcomes import PriorOffsetLogisticRegression


def model_inputs(candidates: pl.DataFrame) -> pl.DataFrame:
    """``person_id`` and :data:`features.cases.MODEL_FEATURES` of scored candidates: the
    evidence the learned model reads (and, kept per month, what it learns from once the
    case is audited): the rules' probability first (the prior), then one indicator per
    reason code, then person features on fixed scales (missing values as NaN)."""
    return candidates.select("person_id", *model_features())


def training_matrix(frame: pl.DataFrame) -> np.ndarray:
    """The :data:`features.cases.MODEL_FEATURES` columns of ``frame`` as a float matrix."""
    return frame.select(MODEL_FEATURES).to_numpy().astype(np.float64)


def model_matrix(candidates: pl.DataFrame) -> np.ndarray:
    """The learned model's input for scored candidates (:func:`model_inputs`)."""
    return training_matrix(model_inputs(candidates))


def fit_risk_model(train: pl.DataFrame, alpha: float) -> PriorOffsetLogisticRegression:
    """:class:`models.outcomes.PriorOffsetLogisticRegression` fitted on training rows
    (``label``, ``weight`` and :data:`features.cases.MODEL_FEATURES`, as
    :func:`sentinel.risk.training_rows` gives them), in ``person_id`` order so that the fit
    does not depend on where the rows came from."""
    train = train.sort("person_id")
    model = PriorOffsetLogisticRegression(alpha=alpha)
    return model.fit(
        training_matrix(train), train["label"].to_numpy(), sample_weight=train["weight"].to_numpy()
    )
