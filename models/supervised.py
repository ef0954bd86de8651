"""Supervised risk model trained on field-audit outcomes."""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from models.unsupervised import RULE_COLUMN, RuleBlendScorer

POSITIVE_OUTCOMES = ("confirmed_deceased", "confirmed_improper")
NEGATIVE_OUTCOMES = ("cleared",)


def outcome_labels(outcomes: pl.LazyFrame) -> pl.LazyFrame:
    """``person_id, label`` from audit outcomes: confirmed_* = 1, cleared = 0.

    ``unreachable`` says nothing about the payment and is left out. A person audited more
    than once keeps the latest outcome.
    """
    return (
        outcomes.filter(pl.col("outcome").is_in([*POSITIVE_OUTCOMES, *NEGATIVE_OUTCOMES]))
        .sort("closed_on")
        .group_by("person_id")
        .agg(pl.col("outcome").last())
        .select("person_id", pl.col("outcome").is_in(POSITIVE_OUTCOMES).cast(pl.Int8).alias("label"))
    )


class CalibratedRiskClassifier(ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees on person features plus the unsupervised score, calibrated.

    ``fit`` first fits ``unsupervised`` (a clone; :class:`RuleBlendScorer` by default) on
    ``X``, appends its probability as a feature, then fits a
    ``CalibratedClassifierCV(HistGradientBoostingClassifier)`` on audit labels.

    Parameters
    ----------
    unsupervised : estimator or None, default=None
        Unsupervised scorer with ``predict_proba``; None means ``RuleBlendScorer()``.
    learning_rate : float, default=0.1
        Boosting learning rate.
    max_iter : int, default=200
        Boosting iterations.
    max_leaf_nodes : int, default=15
        Leaves per tree (small: outcomes are few).
    calibration : {"sigmoid", "isotonic"}, default="sigmoid"
        Calibration method (sigmoid is safer with few outcomes).
    cv : int, default=3
        Calibration folds; reduced to the minority-class count when smaller.
    proof_threshold : float, default=0.9
        Rows whose rule probability reaches this keep at least that probability.
    random_state : int or None, default=None
        Seed for the boosting and the unsupervised scorer.

    Attributes
    ----------
    unsupervised_ : estimator
        The fitted unsupervised scorer.
    calibrated_ : CalibratedClassifierCV
        The fitted calibrated booster.
    classes_ : ndarray of shape (2,)
        ``[0, 1]``.
    n_features_in_ : int
        Columns of ``X`` seen in ``fit``.
    """

    def __init__(
        self,
        *,
        unsupervised=None,
        learning_rate: float = 0.1,
        max_iter: int = 200,
        max_leaf_nodes: int = 15,
        calibration: str = "sigmoid",
        cv: int = 3,
        proof_threshold: float = 0.9,
        random_state: int | None = None,
    ) -> None:
        self.unsupervised = unsupervised
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.calibration = calibration
        self.cv = cv
        self.proof_threshold = proof_threshold
        self.random_state = random_state

    def _augment(self, X: np.ndarray) -> np.ndarray:
        return np.column_stack([X, self.unsupervised_.predict_proba(X)[:, 1]])

    def fit(self, X, y):  # noqa: N803
        """Fit on persons × features ``X`` and labels ``y`` (1 improper, 0 cleared).

        Returns
        -------
        self : CalibratedRiskClassifier
        """
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64)
        if self.calibration not in ("sigmoid", "isotonic"):
            raise ValueError(f"calibration must be 'sigmoid' or 'isotonic', got {self.calibration!r}")
        self.classes_ = unique_labels(y)
        if len(self.classes_) != 2:
            raise ValueError("audit outcomes hold a single class; a classifier needs both")
        minority = int(np.min(np.bincount(np.searchsorted(self.classes_, y))))
        if minority < 2:
            raise ValueError("need at least two outcomes of each class to calibrate")
        base = self.unsupervised if self.unsupervised is not None else RuleBlendScorer(random_state=self.random_state)
        self.unsupervised_ = clone(base).fit(X)
        booster = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            random_state=self.random_state,
        )
        self.calibrated_ = CalibratedClassifierCV(
            booster, method=self.calibration, cv=min(self.cv, minority)
        ).fit(self._augment(X), y)
        return self

    def predict_proba(self, X) -> np.ndarray:  # noqa: N803
        """Probability of each class, shape (n_samples, 2); near-certain rule proof is kept."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        p = self.calibrated_.predict_proba(self._augment(X))[:, 1]
        rule = np.nan_to_num(X[:, RULE_COLUMN]) if X.shape[1] > RULE_COLUMN else np.zeros(len(X))
        p = np.where(rule >= self.proof_threshold, np.maximum(p, rule), p)
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:  # noqa: N803
        """The more probable class."""
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]
