"""Unsupervised risk scorer: rule probability lifted by how unusual a person's features are."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import IsolationForest
from sklearn.utils.validation import check_is_fitted, validate_data

from features.cases import FEATURE_COLUMNS

RULE_COLUMN = FEATURE_COLUMNS.index("rule_probability")


class RuleBlendScorer(ClassifierMixin, BaseEstimator):
    """Blend the rule families' probability with an Isolation Forest anomaly score.

    Used when no audit outcomes exist. The anomaly score can only *add* to the rule
    probability, and only a share ``anomaly_weight`` of what is left:
    ``p = rule + anomaly_weight * (1 - rule) * anomaly``, where ``anomaly`` is the
    percentile of the person's isolation score among the training rows. Near-certain rule
    proof therefore stays near-certain, and among weakly evidenced persons the unusual ones
    rise.

    Parameters
    ----------
    anomaly_weight : float, default=0.15
        Share of the remaining probability the anomaly score may add, in [0, 1].
    rule_column : int, default=index of ``rule_probability`` in ``FEATURE_COLUMNS``
        Column of ``X`` holding the rule probability (excluded from the forest).
    n_estimators : int, default=100
        Trees of the Isolation Forest.
    max_samples : int, default=256
        Rows drawn per tree.
    random_state : int or None, default=None
        Seed of the forest.

    Attributes
    ----------
    forest_ : IsolationForest
        The fitted forest (over all columns but ``rule_column``; NaN filled with medians).
    fill_values_ : ndarray of shape (n_features,)
        Column medians of the training data used for missing values.
    score_quantiles_ : ndarray of shape (101,)
        Percentiles of the training anomaly scores.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    classes_ : ndarray of shape (2,)
        ``[0, 1]``.
    """

    def __init__(
        self,
        *,
        anomaly_weight: float = 0.15,
        rule_column: int = RULE_COLUMN,
        n_estimators: int = 100,
        max_samples: int = 256,
        random_state: int | None = None,
    ) -> None:
        self.anomaly_weight = anomaly_weight
        self.rule_column = rule_column
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.random_state = random_state

    def _forest_input(self, X: np.ndarray) -> np.ndarray:
        X = np.where(np.isnan(X), self.fill_values_, X)
        return np.delete(X, self.rule_column, axis=1)

    def fit(self, X, y=None):  # noqa: N803
        """Fit the forest on ``X`` (persons × features); ``y`` is ignored.

        Returns
        -------
        self : RuleBlendScorer
        """
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        if not 0.0 <= self.anomaly_weight <= 1.0:
            raise ValueError(f"anomaly_weight must be in [0, 1], got {self.anomaly_weight}")
        if not 0 <= self.rule_column < X.shape[1]:
            raise ValueError(f"rule_column {self.rule_column} outside the {X.shape[1]} columns of X")
        medians = np.nanmedian(np.where(np.isnan(X).all(axis=0), 0.0, X), axis=0)
        self.fill_values_ = np.nan_to_num(medians)
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=min(self.max_samples, X.shape[0]),
            random_state=self.random_state,
        ).fit(self._forest_input(X))
        raw = -self.forest_.score_samples(self._forest_input(X))
        self.score_quantiles_ = np.percentile(raw, np.arange(101))
        self.classes_ = np.array([0, 1])
        return self

    def anomaly_score(self, X) -> np.ndarray:  # noqa: N803
        """Percentile (0..1) of each row's isolation score among the training rows."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        raw = -self.forest_.score_samples(self._forest_input(X))
        return np.interp(raw, self.score_quantiles_, np.linspace(0.0, 1.0, 101))

    def predict_proba(self, X) -> np.ndarray:  # noqa: N803
        """Probability of an improper payment, shape (n_samples, 2)."""
        anomaly = self.anomaly_score(X)
        X = np.asarray(X, dtype=np.float64)
        rule = np.clip(np.nan_to_num(X[:, self.rule_column]), 0.0, 1.0)
        p = rule + self.anomaly_weight * (1.0 - rule) * anomaly
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:  # noqa: N803
        """1 where the probability is at least one half."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)
