"""Saving and loading risk models with a model card."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import sklearn

from features.cases import MODEL_FEATURES

MODEL_FORMAT_VERSION = 2
_MODEL_FILE = f"risk_model-v{MODEL_FORMAT_VERSION}.joblib"
_CARD_FILE = "model_card.json"


def save_model(
    model: Any,
    directory: Path,
    *,
    training_months: list[str] | None = None,
    metrics: dict[str, float] | None = None,
    notes: str = "",
) -> Path:
    """Write ``risk_model-v<N>.joblib`` and ``model_card.json`` into ``directory``.

    The card records the format version, the estimator and its parameters, the feature
    names in order, the months whose outcomes trained it, and metrics on held-out months.
    Returns the model file path.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / _MODEL_FILE
    joblib.dump(model, path)
    card = {
        "version": MODEL_FORMAT_VERSION,
        "estimator": type(model).__name__,
        "params": {k: repr(v) for k, v in model.get_params(deep=False).items()},
        "features": list(MODEL_FEATURES),
        "training_months": list(training_months or []),
        "metrics_held_out": dict(metrics or {}),
        "sklearn_version": sklearn.__version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "notes": notes,
    }
    (directory / _CARD_FILE).write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def load_model(directory: Path) -> Any:
    """Load the model saved by :func:`save_model`.

    Raises ``ValueError`` when the card's format version or feature list does not match
    this code (a model trained on other features would score garbage).
    """
    directory = Path(directory)
    card = json.loads((directory / _CARD_FILE).read_text(encoding="utf-8"))
    if card.get("version") != MODEL_FORMAT_VERSION:
        raise ValueError(f"model format version {card.get('version')} != {MODEL_FORMAT_VERSION}")
    if card.get("features") != list(MODEL_FEATURES):
        raise ValueError("model was trained on a different feature list")
    return joblib.load(directory / _MODEL_FILE)


def model_card(directory: Path) -> dict[str, Any]:
    """The saved model card."""
    return json.loads((Path(directory) / _CARD_FILE).read_text(encoding="utf-8"))
