"""Risk models follow scikit-learn's estimator contract; persistence round-trips."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from features.cases import FEATURE_COLUMNS
from models.persistence import load_model, model_card, save_model
from models.supervised import CalibratedRiskClassifier
from models.unsupervised import RULE_COLUMN, RuleBlendScorer


def _data(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(FEATURE_COLUMNS)))
    y = (rng.random(n) < 0.3).astype(int)
    X[:, RULE_COLUMN] = np.clip(0.2 + 0.6 * y + rng.normal(scale=0.1, size=n), 0, 1)
    X[rng.random(X.shape) < 0.05] = np.nan
    X[:, RULE_COLUMN] = np.nan_to_num(X[:, RULE_COLUMN])
    return X, y


@pytest.mark.parametrize("estimator", [RuleBlendScorer(random_state=0), CalibratedRiskClassifier(random_state=0)])
def test_clone_keeps_params_and_unfitted_raises(estimator):
    copy = clone(estimator)
    assert copy.get_params() == estimator.get_params()
    with pytest.raises(NotFittedError):
        copy.predict_proba(_data()[0])


@pytest.mark.parametrize("estimator", [RuleBlendScorer(random_state=0), CalibratedRiskClassifier(random_state=0)])
def test_fit_returns_self_and_probabilities_are_valid(estimator):
    X, y = _data()
    assert estimator.fit(X, y) is estimator
    p = estimator.predict_proba(X)
    assert p.shape == (len(X), 2)
    assert np.all((p >= 0) & (p <= 1))
    assert np.allclose(p.sum(axis=1), 1.0)


def test_rule_blend_never_lowers_the_rule_probability():
    X, _ = _data()
    p = RuleBlendScorer(random_state=0).fit(X).predict_proba(X)[:, 1]
    assert np.all(p >= X[:, RULE_COLUMN] - 1e-12)


def test_rule_blend_validates_weight_in_fit():
    with pytest.raises(ValueError, match="anomaly_weight"):
        RuleBlendScorer(anomaly_weight=2.0).fit(_data()[0])


def test_supervised_keeps_near_certain_rule_proof():
    X, y = _data()
    model = CalibratedRiskClassifier(random_state=0).fit(X, y)
    X_proof = X[:5].copy()
    X_proof[:, RULE_COLUMN] = 0.97
    assert np.all(model.predict_proba(X_proof)[:, 1] >= 0.97)


def test_supervised_rejects_single_class():
    X, _ = _data()
    with pytest.raises(ValueError, match="single class"):
        CalibratedRiskClassifier().fit(X, np.zeros(len(X), dtype=int))


def test_save_and_load_round_trip(tmp_path):
    X, y = _data()
    model = CalibratedRiskClassifier(random_state=0).fit(X, y)
    save_model(model, tmp_path, training_months=["2020-11"], metrics={"precision@60": 0.9})
    loaded = load_model(tmp_path)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
    card = model_card(tmp_path)
    assert card["features"] == list(FEATURE_COLUMNS)
    assert card["training_months"] == ["2020-11"]
