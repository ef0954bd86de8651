"""What detection needs from a risk model: a scikit-learn style ``predict_proba``."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class RiskModel(Protocol):
    """A fitted classifier over ``features.cases.MODEL_FEATURES`` (a float matrix, NaN for
    missing); column 1 of ``predict_proba`` is the probability of an improper payment."""

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803 (scikit-learn naming)
        ...
