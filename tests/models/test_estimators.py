"""The learned risk model follows scikit-learn's estimator contract, starts from the rules'
probability, and learns from outcomes how far each reason is right; persistence round-trips."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from features.cases import MODEL_FEATURES
from models.outcomes import PriorOffsetLogisticRegression
from models.persistence import load_model, model_card, save_model

REASON = MODEL_FEATURES.index("reason:SD_CERT_LAPSED")


def _data(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cases whose rule probability is right on average, with missing values here and there."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, size=(n, len(MODEL_FEATURES))).astype(float)
    X[:, 0] = rng.uniform(0.05, 0.95, n)
    y = (rng.random(n) < X[:, 0]).astype(int)
    X[rng.random(X.shape) < 0.05] = np.nan
    X[:, 0] = np.nan_to_num(X[:, 0], nan=0.5)
    return X, y


def test_clone_keeps_params_and_unfitted_raises():
    estimator = PriorOffsetLogisticRegression(alpha=3.0)
    copy = clone(estimator)
    assert copy.get_params() == estimator.get_params()
    with pytest.raises(NotFittedError):
        copy.predict_proba(_data()[0])


def test_fit_returns_self_and_probabilities_are_valid():
    X, y = _data()
    estimator = PriorOffsetLogisticRegression()
    assert estimator.fit(X, y) is estimator
    p = estimator.predict_proba(X)
    assert p.shape == (len(X), 2)
    assert np.all((p >= 0) & (p <= 1))
    assert np.allclose(p.sum(axis=1), 1.0)


def test_without_evidence_against_them_the_rules_stand():
    """Outcomes that agree with the rules' probability leave it almost as it was."""
    X, y = _data(n=4000)
    model = PriorOffsetLogisticRegression().fit(X, y)
    p = model.predict_proba(X)[:, 1]
    assert np.abs(model.coef_).max() < 0.25
    assert abs(p.mean() - X[:, 0].mean()) < 0.02


def test_a_reason_the_auditors_keep_clearing_falls_below_one_they_confirm():
    """One month of visits: 40 cases of one reason, all cleared, 15 of another, all
    confirmed, both claimed at 0.9 by the rules."""
    n = 55
    X = np.zeros((n, len(MODEL_FEATURES)))
    X[:, 0] = 0.9
    X[:40, REASON] = 1.0
    y = np.r_[np.zeros(40), np.ones(15)].astype(int)
    model = PriorOffsetLogisticRegression(alpha=2.0).fit(X, y)
    cleared, confirmed = model.predict_proba(X[[0, 45]])[:, 1]
    assert cleared < 0.2 < 0.8 < confirmed


def test_weights_count_an_outcome_as_several():
    n = 20
    X = np.zeros((n, len(MODEL_FEATURES)))
    X[:, 0] = 0.5
    X[:, REASON] = 1.0
    y = np.r_[np.zeros(10), np.ones(10)].astype(int)
    heavier_clears = np.r_[np.full(10, 5.0), np.ones(10)]
    even = PriorOffsetLogisticRegression().fit(X, y).predict_proba(X[:1])[0, 1]
    weighted = PriorOffsetLogisticRegression().fit(X, y, sample_weight=heavier_clears).predict_proba(X[:1])[0, 1]
    assert weighted < even - 0.1


def test_a_single_class_is_learned_without_diverging():
    X, _ = _data()
    model = PriorOffsetLogisticRegression().fit(X, np.zeros(len(X), dtype=int))
    assert np.all(np.isfinite(model.coef_)) and model.predict_proba(X)[:, 1].max() < 1.0


@pytest.mark.parametrize(("params", "match"), [({"alpha": 0.0}, "alpha"), ({"prior_column": 999}, "prior_column")])
def test_bad_parameters_are_rejected_in_fit(params, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        PriorOffsetLogisticRegression(**params).fit(X, y)


def test_outcomes_other_than_zero_and_one_are_rejected():
    X, y = _data()
    with pytest.raises(ValueError, match="0 or 1"):
        PriorOffsetLogisticRegression().fit(X, y + 1)


def test_save_and_load_round_trip(tmp_path):
    X, y = _data()
    model = PriorOffsetLogisticRegression().fit(X, y)
    save_model(model, tmp_path, training_months=["2020-11"], metrics={"log_loss_learned": 0.4})
    loaded = load_model(tmp_path)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
    card = model_card(tmp_path)
    assert card["features"] == list(MODEL_FEATURES)
    assert card["training_months"] == ["2020-11"]
