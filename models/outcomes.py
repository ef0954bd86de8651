"""The risk model that learns from field-audit outcomes, starting from the rules' own belief.

The rules give every case a prior probability. Audits then say, case by case, whether the
rules were right. :class:`PriorOffsetLogisticRegression` keeps the prior as an offset and
learns only the correction:

    logit p(x) = logit(prior(x)) + w · z(x)

with an L2 pull of ``w`` towards zero (towards the rules) whose strength is
``alpha`` pseudo-audits. With no outcome the model *is* the rules; a reason code the
auditors keep clearing gets a negative weight after a month of visits; a reason they keep
confirming rises. Outcomes come only from audited cases, so each can carry an inverse
selection-probability weight (:mod:`sentinel.risk`).

scikit-learn's logistic regression has no offset term (the prior would have to be learned
back as an ordinary feature, which few outcomes cannot do), so the fit is the same convex
problem solved with SciPy's L-BFGS, behind scikit-learn's estimator contract.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

_EPS = 1e-6


class PriorOffsetLogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression around a prior probability held in one column of ``X``.

    Parameters
    ----------
    prior_column : int, default=0
        Column of ``X`` holding the prior probability (clipped to [1e-6, 1 - 1e-6]); it is
        the offset, not a learned feature.
    alpha : float, default=2.0
        Strength of the pull towards the prior, in audits: the penalty is
        ``alpha / 2 * (b**2 + ||w||**2)`` against a weighted log-loss summed over outcomes.
    fit_intercept : bool, default=False
        Also learn a shift ``b`` common to every case. Off by default: the outcomes of one
        reason would then move every other reason's cases too (a month of cleared lapses
        would lower a confirmed kind of case); each reason's indicator carries its own
        correction instead.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features - 1,)
        Weights of the columns other than ``prior_column`` (missing values read as 0).
    intercept_ : float
        The common shift ``b`` (0 without ``fit_intercept``).
    classes_ : ndarray of shape (2,)
        ``[0, 1]``.
    n_features_in_ : int
        Columns seen in ``fit``.
    n_iter_ : int
        L-BFGS iterations.
    """

    def __init__(
        self, *, prior_column: int = 0, alpha: float = 2.0, fit_intercept: bool = False
    ) -> None:
        self.prior_column = prior_column
        self.alpha = alpha
        self.fit_intercept = fit_intercept

    def _split(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        prior = np.clip(np.nan_to_num(X[:, self.prior_column], nan=0.5), _EPS, 1.0 - _EPS)
        rest = np.nan_to_num(np.delete(X, self.prior_column, axis=1), nan=0.0)
        return logit(prior), rest

    def fit(self, X, y, sample_weight=None):  # noqa: N803 (scikit-learn naming)
        """Fit on outcomes ``y`` (1 improper, 0 cleared) with optional ``sample_weight``.

        A single class is allowed: the pull towards the prior keeps the fit finite.

        Returns
        -------
        self : PriorOffsetLogisticRegression
        """
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64)
        if not 0 <= self.prior_column < X.shape[1]:
            raise ValueError(f"prior_column {self.prior_column} outside the {X.shape[1]} columns")
        if self.alpha <= 0:
            raise ValueError(f"alpha must be positive, got {self.alpha}")
        labels = unique_labels(y)
        if not set(labels.tolist()) <= {0, 1}:
            raise ValueError(f"outcomes must be 0 or 1, got {labels.tolist()}")
        weight = _check_sample_weight(sample_weight, X)
        offset, Z = self._split(X)
        design = np.column_stack([np.ones(len(Z)), Z]) if self.fit_intercept else Z
        target = y.astype(np.float64)

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            eta = offset + design @ theta
            value = np.sum(weight * (np.logaddexp(0.0, eta) - target * eta))
            residual = weight * (expit(eta) - target)
            return (
                float(value + 0.5 * self.alpha * theta @ theta),
                design.T @ residual + self.alpha * theta,
            )

        result = minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B")
        theta = result.x
        self.intercept_ = float(theta[0]) if self.fit_intercept else 0.0
        self.coef_ = theta[1:] if self.fit_intercept else theta
        self.n_iter_ = int(result.nit)
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X) -> np.ndarray:  # noqa: N803
        """The log-odds of an improper payment."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        offset, Z = self._split(X)
        return offset + self.intercept_ + Z @ self.coef_

    def predict_proba(self, X) -> np.ndarray:  # noqa: N803
        """Probability of each class, shape (n_samples, 2)."""
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:  # noqa: N803
        """1 where the probability is at least one half."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)
